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
        public override string ToString() => $"{Kind} {Id} ({Name})";
    }
}
