using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.ImageStore
{
    /// <summary>
    /// Golden images kept in a local folder, each beside its "&lt;image&gt;.json" sidecar: the same
    /// listing as <see cref="S3ImageStore.ListAsync"/>, for <c>Get-OpenBsdImage -Path ./images</c>.
    /// Only the folder itself is read, not its subfolders.
    /// </summary>
    public static class LocalImageCatalog
    {
        public static Task<ImageListing> ListAsync(string directory, string? versionPattern = null, string? architecturePattern = null,
            CancellationToken cancellationToken = default)
        {
            if (string.IsNullOrWhiteSpace(directory))
                throw OpenBsdBuildException.BadParameter("Path", directory, "a folder is required.", "Give the folder that holds the images.");
            string full = Path.GetFullPath(directory);
            if (!Directory.Exists(full))
                throw new OpenBsdBuildException("ImageFolderNotFound", FailureKind.ObjectNotFound,
                    $"The image folder '{full}' does not exist.", full,
                    "Check the path; images are kept as <name>.qcow2 beside <name>.qcow2.json.");

            FileInfo[] entries;
            try
            {
                entries = new DirectoryInfo(full).GetFiles();
            }
            catch (Exception ex) when (ex is UnauthorizedAccessException || ex is IOException)
            {
                throw new OpenBsdBuildException("ImageFolderUnreadable", FailureKind.ReadError,
                    $"Cannot read the image folder '{full}': {ex.Message}", full, "Check the folder's permissions.", ex);
            }

            var files = entries.Select(f => new CatalogFile(f.Name, f.FullName, LocalFile.LengthOf(f), f.LastWriteTimeUtc));
            return ImageCatalog.AssembleAsync(files, ReadSidecarAsync, versionPattern, architecturePattern, cancellationToken);
        }

        /// <summary>Reads one image's sidecar ("&lt;imagePath&gt;.json").</summary>
        public static async Task<StoredImage> GetAsync(string imagePath, CancellationToken cancellationToken = default)
        {
            var image = new FileInfo(Path.GetFullPath(imagePath));
            var sidecar = new FileInfo(image.FullName + ImageMetadata.SidecarSuffix);
            if (!image.Exists && !sidecar.Exists)
                throw new OpenBsdBuildException("ImageNotFound", FailureKind.ObjectNotFound,
                    $"There is no image at '{image.FullName}'.", image.FullName, "Check the path.");
            if (!image.Exists) throw ImageCatalog.FileMissing(image.FullName, sidecar.FullName);
            if (!sidecar.Exists) throw ImageCatalog.MetadataMissing(image.FullName, sidecar.FullName);

            var file = new CatalogFile(image.Name, image.FullName, LocalFile.LengthOf(image), image.LastWriteTimeUtc);
            string json = await ReadSidecarAsync(new CatalogFile(sidecar.Name, sidecar.FullName, sidecar.Length, sidecar.LastWriteTimeUtc),
                cancellationToken).ConfigureAwait(false);
            var (stored, problem) = ImageCatalog.Validate(file, sidecar.FullName, ImageMetadata.Parse(json, sidecar.FullName));
            if (problem != null) throw problem;
            return stored!;
        }

        private static async Task<string> ReadSidecarAsync(CatalogFile sidecar, CancellationToken cancellationToken)
        {
            try
            {
                using var reader = new StreamReader(sidecar.Location);
                cancellationToken.ThrowIfCancellationRequested();
                return await reader.ReadToEndAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is UnauthorizedAccessException || ex is IOException)
            {
                throw new OpenBsdBuildException("ImageMetadataUnreadable", FailureKind.ReadError,
                    $"Cannot read the metadata '{sidecar.Location}': {ex.Message}", sidecar.Location,
                    "Check the file's permissions.", ex);
            }
        }
    }
}
