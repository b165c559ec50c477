using System;

namespace OpenBsdBuild.Model
{
    /// <summary>
    /// An AMI Register-OpenBsdAmi made from a golden image: what it was made from (by tag), its root
    /// snapshot and the staged S3 object the snapshot was imported from, so Unregister-OpenBsdAmi removes all three.
    /// </summary>
    public sealed class OpenBsdAmi
    {
        public string ImageId { get; internal set; } = "";
        public string Name { get; internal set; } = "";
        public string Region { get; internal set; } = "";
        /// <summary>pending, available, failed, …: EC2's image state.</summary>
        public string State { get; internal set; } = "";
        /// <summary>EC2's name: arm64 or x86_64.</summary>
        public string Architecture { get; internal set; } = "";
        /// <summary>The OpenBSD version of the golden image.</summary>
        public string Version { get; internal set; } = "";
        public string ImageSha256 { get; internal set; } = "";
        /// <summary>The kernel's SHA-256 when the image was made with New-OpenBsdImage -Kernel; null otherwise.</summary>
        public string? KernelSha256 { get; internal set; }
        public string? ModuleVersion { get; internal set; }
        /// <summary>The login the image's first-boot agent installs the instance's key for; New-OpenBsdInstance logs in as it by default.</summary>
        public string? BuildUser { get; internal set; }
        public string? SnapshotId { get; internal set; }
        /// <summary>The raw disk image in S3 the snapshot was imported from (s3://bucket/key), if recorded.</summary>
        public string? StagedObject { get; internal set; }
        public string? BootMode { get; internal set; }
        public bool EnaSupport { get; internal set; }
        public string? ImdsSupport { get; internal set; }
        public DateTime Created { get; internal set; }
        public string? Description { get; internal set; }
        /// <summary>The EC2 endpoint it was found or made at (null: AWS's own), so a piped AMI is removed where it is.</summary>
        public Uri? EndpointUrl { get; internal set; }
        /// <summary>The S3 endpoint of the staged object (null: AWS's own).</summary>
        public Uri? S3EndpointUrl { get; internal set; }

        /// <summary>How to reach AWS again to remove it (the listing's connection), typed by the engine.</summary>
        internal object? ConnectionState { get; set; }

        public string ShortImageSha256 => ImageSha256.Length > 12 ? ImageSha256.Substring(0, 12) : ImageSha256;

        public override string ToString() => ImageId;
    }
}
