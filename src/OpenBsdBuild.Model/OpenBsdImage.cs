using System;
using System.Collections.Generic;

namespace OpenBsdBuild.Model
{
    /// <summary>
    /// A golden image where it is kept: a local file or an S3 object, always with its metadata
    /// sidecar (what is installed, the build user, the host keys a guest booted from it must present).
    /// </summary>
    public sealed class OpenBsdImage
    {
        /// <param name="stored">The engine's StoredImage: the sidecar as read and the S3 location.</param>
        internal OpenBsdImage(object stored, string location, string metadataLocation)
        {
            StoredState = stored;
            Location = location;
            MetadataLocation = metadataLocation;
        }

        /// <summary>The engine's StoredImage this object was made from.</summary>
        internal object StoredState { get; }

        public string Name { get; internal set; } = "";
        public string OperatingSystem { get; internal set; } = "";
        public string Version { get; internal set; } = "";
        public string Architecture { get; internal set; } = "";
        /// <summary>Bytes of the (compressed) image file.</summary>
        public long Size { get; internal set; }
        /// <summary>Size of the guest's disk once booted, in bytes.</summary>
        public long DiskSize { get; internal set; }
        /// <summary>Lower-case hex SHA-256 of the image file; hosts check it before booting.</summary>
        public string Sha256 { get; internal set; } = "";
        /// <summary>The first 12 hex digits, for tables.</summary>
        public string ShortSha256 => Sha256.Length > 12 ? Sha256.Substring(0, 12) : Sha256;
        public DateTime Created { get; internal set; }
        public TimeSpan Age => DateTime.UtcNow - Created.ToUniversalTime();
        public string BuildUser { get; internal set; } = "";
        /// <summary>"SHA256:…" fingerprints a guest booted from this image must present.</summary>
        public IReadOnlyList<string> HostKeyFingerprints { get; internal set; } = Array.Empty<string>();
        public IReadOnlyList<string> Sets { get; internal set; } = Array.Empty<string>();
        /// <summary>SHA-256 of the kernel installed as /bsd with New-OpenBsdImage -Kernel; empty: the release's own kernel.</summary>
        public string KernelSha256 { get; internal set; } = "";
        /// <summary>"qemu" (a guest on a host) or "ec2" (self-configuring on an EC2 instance: no host keys of its own).</summary>
        public string Target { get; internal set; } = "qemu";
        /// <summary>Installed packages as "name-version".</summary>
        public IReadOnlyList<string> Packages { get; internal set; } = Array.Empty<string>();

        /// <summary>"s3://bucket/key" or a full local path.</summary>
        public string Location { get; }
        /// <summary>The sidecar: "&lt;Location&gt;.json".</summary>
        public string MetadataLocation { get; }
        /// <summary>S3 or Local.</summary>
        public string Store => Location.StartsWith("s3://", StringComparison.Ordinal) ? "S3" : "Local";
        /// <summary>The region the image was found in (S3 only); used again when a host fetches it.</summary>
        public string? Region { get; internal set; }
        /// <summary>The S3-compatible endpoint the image was found at (S3 only); null for AWS.</summary>
        public Uri? EndpointUrl { get; internal set; }
        /// <summary>Bytes actually stored (compare with <see cref="Size"/>).</summary>
        public long StoredSize { get; internal set; }
        /// <summary>When the stored file was last written, UTC.</summary>
        public DateTime LastModified { get; internal set; }

        public override string ToString() => Location;
    }
}
