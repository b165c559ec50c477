using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.ImageStore
{
    /// <summary>One file seen in a catalog (an S3 object or a file in a folder).</summary>
    internal readonly struct CatalogFile
    {
        public CatalogFile(string name, string location, long size, DateTime lastModified, S3Location? s3Location = null)
        {
            Name = name;
            Location = location;
            Size = size;
            LastModified = lastModified;
            S3Location = s3Location;
        }

        /// <summary>Key or path relative to the catalog root; pairs an image with its sidecar.</summary>
        public string Name { get; }
        public string Location { get; }
        public long Size { get; }
        public DateTime LastModified { get; }
        public S3Location? S3Location { get; }
    }

    /// <summary>
    /// Pairs image files with their "&lt;image&gt;.json" sidecars, filters and orders them. Shared by the
    /// S3 store and the local folder catalog so both report the same problems the same way.
    /// </summary>
    internal static class ImageCatalog
    {
        // Only files that look like disk images count, so a README or a partial download in the
        // folder is not reported as "an image without metadata".
        private static readonly Regex ImageName = new Regex(
            @"\.(qcow2|img|raw|vmdk|vhd|vhdx)(\.(gz|xz|zst|bz2))?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

        public static bool IsImageName(string name) => ImageName.IsMatch(name);

        public static bool IsSidecarName(string name) =>
            name.EndsWith(ImageMetadata.SidecarSuffix, StringComparison.OrdinalIgnoreCase) &&
            IsImageName(name.Substring(0, name.Length - ImageMetadata.SidecarSuffix.Length));

        /// <param name="readSidecar">Reads a sidecar's text; failures other than cancellation become problems.</param>
        public static async Task<ImageListing> AssembleAsync(IEnumerable<CatalogFile> files,
            Func<CatalogFile, CancellationToken, Task<string>> readSidecar,
            string? versionPattern, string? architecturePattern, CancellationToken cancellationToken)
        {
            var images = new Dictionary<string, CatalogFile>(StringComparer.Ordinal);
            var sidecars = new Dictionary<string, CatalogFile>(StringComparer.Ordinal);
            foreach (var file in files)
            {
                if (IsSidecarName(file.Name))
                    sidecars[file.Name.Substring(0, file.Name.Length - ImageMetadata.SidecarSuffix.Length)] = file;
                else if (IsImageName(file.Name))
                    images[file.Name] = file;
            }

            var problems = new List<OpenBsdBuildException>();
            foreach (var image in images.Values.Where(i => !sidecars.ContainsKey(i.Name)).OrderBy(i => i.Name, StringComparer.Ordinal))
                problems.Add(MetadataMissing(image.Location, image.Location + ImageMetadata.SidecarSuffix));
            foreach (var pair in sidecars.Where(s => !images.ContainsKey(s.Key)).OrderBy(s => s.Key, StringComparer.Ordinal))
                problems.Add(FileMissing(ImageLocationOf(pair.Value), pair.Value.Location));

            var paired = sidecars.Where(s => images.ContainsKey(s.Key)).ToList();
            // A handful of small GETs; a few at a time keeps a large catalog quick without a burst.
            var results = new (StoredImage? Image, OpenBsdBuildException? Problem)[paired.Count];
            using var gate = new SemaphoreSlim(8);
            await Task.WhenAll(paired.Select(async (pair, index) =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    results[index] = await LoadAsync(images[pair.Key], pair.Value, readSidecar, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);

            var version = WildcardMatcher(versionPattern);
            var architecture = WildcardMatcher(architecturePattern);
            var found = new List<StoredImage>();
            foreach (var (image, problem) in results)
            {
                if (problem != null) problems.Add(problem);
                else if (image != null && version(image.Version) && architecture(image.Architecture)) found.Add(image);
            }

            return new ImageListing(SortNewestFirst(found), problems);
        }

        public static List<StoredImage> SortNewestFirst(IEnumerable<StoredImage> images) => images
            .OrderByDescending(i => i.Created.ToUniversalTime())
            .ThenByDescending(i => i.LastModified)
            .ThenBy(i => i.Location, StringComparer.Ordinal)
            .ToList();

        private static async Task<(StoredImage?, OpenBsdBuildException?)> LoadAsync(CatalogFile image, CatalogFile sidecar,
            Func<CatalogFile, CancellationToken, Task<string>> readSidecar, CancellationToken cancellationToken)
        {
            string json;
            try
            {
                json = await readSidecar(sidecar, cancellationToken).ConfigureAwait(false);
            }
            catch (OpenBsdBuildException ex)
            {
                return (null, ex);
            }

            ImageMetadata metadata;
            try
            {
                metadata = ImageMetadata.Parse(json, sidecar.Location);
            }
            catch (OpenBsdBuildException ex)
            {
                return (null, ex);
            }
            return Validate(image, sidecar.Location, metadata);
        }

        /// <summary>Builds the <see cref="StoredImage"/>, or the problem that makes the pair unusable.</summary>
        public static (StoredImage?, OpenBsdBuildException?) Validate(CatalogFile image, string metadataLocation, ImageMetadata metadata)
        {
            // A sidecar that describes another file (an interrupted re-publish, a hand copy) would make
            // hosts boot the wrong thing or fail the checksum late; say so now.
            if (metadata.Size > 0 && metadata.Size != image.Size)
                return (null, new OpenBsdBuildException("ImageSizeMismatch", FailureKind.InvalidData,
                    $"The image {image.Location} is {image.Size:N0} bytes but its metadata says {metadata.Size:N0}.", image.Location,
                    "Publish the image again (overwriting it), or remove it."));
            return (new StoredImage(image.Location, metadataLocation, metadata, image.Size, image.LastModified, image.S3Location), null);
        }

        public static OpenBsdBuildException MetadataMissing(string imageLocation, string metadataLocation) =>
            new OpenBsdBuildException("ImageMetadataMissing", FailureKind.InvalidData,
                $"The image {imageLocation} has no metadata sidecar ({metadataLocation}).", imageLocation,
                "Publish the image again with its metadata, or remove the file.");

        public static OpenBsdBuildException FileMissing(string imageLocation, string metadataLocation) =>
            new OpenBsdBuildException("ImageFileMissing", FailureKind.ObjectNotFound,
                $"The metadata {metadataLocation} describes an image that is not there ({imageLocation}).", metadataLocation,
                "Publish the image again, or remove the stale sidecar.");

        private static string ImageLocationOf(CatalogFile sidecar) =>
            sidecar.Location.Substring(0, sidecar.Location.Length - ImageMetadata.SidecarSuffix.Length);

        /// <summary>A case-insensitive matcher for '*' and '?' wildcards; null or empty matches everything.</summary>
        public static Func<string, bool> WildcardMatcher(string? pattern)
        {
            if (string.IsNullOrEmpty(pattern)) return _ => true;
            var regex = new Regex("^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
            return value => regex.IsMatch(value ?? "");
        }
    }
}
