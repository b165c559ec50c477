using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.ImageStore
{
    /// <summary>
    /// A golden image converted to a raw disk on this machine (qemu-img), the format ImportSnapshot reads
    /// without a conversion of its own. The file is deleted on dispose.
    /// </summary>
    public sealed class RawDiskImage : IDisposable
    {
        private RawDiskImage(string path) => Path = path;

        public string Path { get; }

        public long Length => LocalFile.LengthOf(new FileInfo(Path));

        public static async Task<RawDiskImage> ConvertAsync(string imagePath, string format, CancellationToken cancellationToken)
        {
            string folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "openbsdbuild-ami-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            var raw = new RawDiskImage(System.IO.Path.Combine(folder, System.IO.Path.GetFileNameWithoutExtension(imagePath) + ".raw"));
            try
            {
                using var shell = new LocalShell();
                var result = await shell.RunAsync(ShellQuote.Join(new[] { "qemu-img", "convert", "-f", format, "-O", "raw", imagePath, raw.Path }),
                    cancellationToken).ConfigureAwait(false);
                if (result.ExitCode == 127)
                    throw new OpenBsdBuildException("QemuImgNotInstalled", FailureKind.NotInstalled,
                        "qemu-img is not installed on this machine; it converts the image to a raw disk for the import.", "qemu-img",
                        "Install it (Debian/Ubuntu: apt-get install qemu-utils; macOS: brew install qemu).");
                if (!result.Succeeded)
                    throw new OpenBsdBuildException("ImageConversionFailed", FailureKind.InvalidData,
                        $"qemu-img could not convert '{imagePath}' to a raw disk: {result.Message}", imagePath,
                        "Check the image with 'qemu-img check', and that the temporary folder has room for the whole disk.");
                return raw;
            }
            catch
            {
                raw.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            try
            {
                string? folder = System.IO.Path.GetDirectoryName(Path);
                if (folder != null && Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A temporary file left behind is not worth hiding the real outcome for.
            }
        }
    }
}
