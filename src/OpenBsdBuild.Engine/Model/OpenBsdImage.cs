using System;
using System.Collections.Generic;
using System.Linq;
using OpenBsdBuild.Cloud;
using OpenBsdBuild.Images;

namespace OpenBsdBuild.Model
{
    /// <summary>
    /// A golden image where it is kept: a local file or an S3 object, always with its metadata
    /// sidecar (what is installed, the build user, the host keys a guest booted from it must present).
    /// </summary>
    public sealed class OpenBsdImage
    {
        internal OpenBsdImage(StoredImage stored, string? region = null, Uri? endpointUrl = null)
        {
            Metadata = stored.Metadata;
            Location = stored.Location;
            MetadataLocation = stored.MetadataLocation;
            S3Location = stored.S3Location;
            StoredSize = stored.StoredSize;
            LastModified = stored.LastModified;
            Region = stored.S3Location == null ? null : region;
            EndpointUrl = stored.S3Location == null ? null : endpointUrl;
        }

        /// <summary>Everything the sidecar says.</summary>
        public ImageMetadata Metadata { get; }

        public string Name => string.IsNullOrEmpty(Metadata.Name) ? System.IO.Path.GetFileName(Location) : Metadata.Name;
        public string OperatingSystem => Metadata.OperatingSystem;
        public string Version => Metadata.Version;
        public string Architecture => Metadata.Architecture;
        /// <summary>Bytes of the (compressed) image file.</summary>
        public long Size => Metadata.Size > 0 ? Metadata.Size : StoredSize;
        /// <summary>Size of the guest's disk once booted, in bytes.</summary>
        public long DiskSize => Metadata.DiskSize;
        /// <summary>Lower-case hex SHA-256 of the image file; hosts check it before booting.</summary>
        public string Sha256 => Metadata.Sha256;
        /// <summary>The first 12 hex digits, for tables.</summary>
        public string ShortSha256 => Sha256.Length > 12 ? Sha256.Substring(0, 12) : Sha256;
        public DateTime Created => Metadata.Created;
        public TimeSpan Age => DateTime.UtcNow - Created.ToUniversalTime();
        public string BuildUser => Metadata.BuildUser;
        /// <summary>"SHA256:…" fingerprints a guest booted from this image must present.</summary>
        public IReadOnlyList<string> HostKeyFingerprints => Metadata.HostKeyFingerprints;
        public IReadOnlyList<string> Sets => Metadata.Sets;
        /// <summary>Installed packages as "name-version".</summary>
        public IReadOnlyList<string> Packages => Metadata.Packages.Select(p => string.IsNullOrEmpty(p.Version) ? p.Name : p.Name + "-" + p.Version).ToList();

        /// <summary>"s3://bucket/key" or a full local path.</summary>
        public string Location { get; }
        /// <summary>The sidecar: "&lt;Location&gt;.json".</summary>
        public string MetadataLocation { get; }
        /// <summary>S3 or Local.</summary>
        public string Store => S3Location == null ? "Local" : "S3";
        /// <summary>The S3 object, or null for a local file.</summary>
        public S3Location? S3Location { get; }
        /// <summary>The region the image was found in (S3 only); used again when a host fetches it.</summary>
        public string? Region { get; }
        /// <summary>The S3-compatible endpoint the image was found at (S3 only); null for AWS.</summary>
        public Uri? EndpointUrl { get; }
        /// <summary>Bytes actually stored (compare with <see cref="Size"/>).</summary>
        public long StoredSize { get; }
        /// <summary>When the stored file was last written, UTC.</summary>
        public DateTime LastModified { get; }

        public override string ToString() => Location;
    }
}
