using System;
using System.Collections.Generic;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Model
{
    /// <summary>A golden image found in a catalog (an S3 prefix or a local folder) together with its sidecar.</summary>
    public sealed class StoredImage
    {
        public StoredImage(string location, string metadataLocation, ImageMetadata metadata, long storedSize, DateTime lastModified,
            S3Location? s3Location = null)
        {
            Location = location;
            S3Location = s3Location;
            MetadataLocation = metadataLocation;
            Metadata = metadata;
            StoredSize = storedSize;
            LastModified = lastModified;
        }

        /// <summary>Where the image file is: "s3://bucket/key" or a full local path.</summary>
        public string Location { get; }
        /// <summary>Where its sidecar is ("&lt;Location&gt;.json").</summary>
        public string MetadataLocation { get; }
        public ImageMetadata Metadata { get; }
        /// <summary>Size of the stored image file in bytes (compare with Metadata.Size).</summary>
        public long StoredSize { get; }
        /// <summary>When the image file was last written, UTC.</summary>
        public DateTime LastModified { get; }

        public string Name => Metadata.Name;
        public string Version => Metadata.Version;
        public string Architecture => Metadata.Architecture;
        public DateTime Created => Metadata.Created;

        /// <summary>The S3 location of the image, or null for a local image.</summary>
        public S3Location? S3Location { get; }

        public override string ToString() => Location;
    }

    /// <summary>
    /// What a catalog listing found: usable images newest first, and the images or sidecars that
    /// could not be used, each as an error the caller should show (never silently dropped).
    /// </summary>
    public sealed class ImageListing
    {
        public ImageListing(IReadOnlyList<StoredImage> images, IReadOnlyList<OpenBsdBuildException> problems)
        {
            Images = images;
            Problems = problems;
        }

        public IReadOnlyList<StoredImage> Images { get; }
        /// <summary>ErrorIds: ImageMetadataMissing, ImageMetadataInvalid, ImageFileMissing, ImageSizeMismatch.</summary>
        public IReadOnlyList<OpenBsdBuildException> Problems { get; }
    }
}
