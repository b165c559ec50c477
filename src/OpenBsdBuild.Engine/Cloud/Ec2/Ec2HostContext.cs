using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>What a MetalHost on EC2 needs to be torn down: how to reach AWS and what was made for it.</summary>
    internal sealed class Ec2HostContext
    {
        public Ec2HostContext(AwsConnectionOptions connection) => Connection = connection;

        public AwsConnectionOptions Connection { get; }
        /// <summary>The key pair was generated for this host: delete it with the host.</summary>
        public bool OwnsKeyPair { get; set; }
        public EphemeralKeyPair? EphemeralKey { get; set; }
    }

    /// <summary>
    /// The EC2 handles model objects hold, typed again (the model assembly may not name engine types; Model/EngineState.cs).
    /// Ec2 is null for hosts not on EC2, but declared non-null: the compiler does not carry a null check on an extension
    /// property to the next line, and every caller checks first.
    /// </summary>
    internal static class Ec2Handles
    {
        extension(MetalHost host)
        {
            internal Ec2HostContext Ec2
            {
                get => (Ec2HostContext)host.Ec2State!;
                set => host.Ec2State = value;
            }
        }

        extension(Ec2Leftover leftover)
        {
            /// <summary>The connection that listed it, so it is deleted where it was found.</summary>
            internal AwsConnectionOptions? Connection
            {
                get => (AwsConnectionOptions?)leftover.ConnectionState;
                set => leftover.ConnectionState = value;
            }
        }
    }
}
