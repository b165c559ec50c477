using System;

// Namespace kept from when it lived in the engine: scripts and format views name it so.
namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>A security group or key pair this module made whose instance no longer exists.</summary>
    public sealed class Ec2Leftover
    {
        public string Kind { get; internal set; } = "";
        public string Id { get; internal set; } = "";
        public string Name { get; internal set; } = "";
        public string Region { get; internal set; } = "";
        public string? RunId { get; internal set; }
        public DateTime? Created { get; internal set; }
        /// <summary>The AWS account it was found in; Remove-MetalHost deletes it only there.</summary>
        public string? AccountId { get; internal set; }
        /// <summary>How it was found: the EC2 endpoint (null: AWS's own) and where the credentials came from (never the secrets).</summary>
        public Uri? EndpointUrl { get; internal set; }
        public string? CredentialSource { get; internal set; }
        /// <summary>How to reach AWS again to delete it (the listing's connection), typed by the engine.</summary>
        internal object? ConnectionState { get; set; }
        public override string ToString() => $"{Kind} {Id} ({Name})";
    }
}
