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
}
