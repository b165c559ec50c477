using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// The last step of New-OpenBsdImage: the installed disk (with any overlay chain) becomes one
    /// compressed qcow2 on this machine, hashed, with its metadata sidecar beside it. Nothing
    /// half-written keeps the final name: the image is written as ".partial" and renamed last.
    /// </summary>
    public static class ImageFinisher
    {
        public static async Task<OpenBsdImage> FinishAsync(MetalHost host, string diskOnHost, string output, ImageMetadata metadata,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string qemuImg = host.Capabilities.QemuImg ?? throw new OpenBsdBuildException("QemuNotInstalled", FailureKind.NotInstalled,
                $"qemu-img is not installed on {host.Name}.", host.Name, "Install it on the host (Debian/Ubuntu: apt-get install qemu-utils).");
            output = Path.GetFullPath(output);
            string partial = output + ".partial";
            string sidecar = output + ImageMetadata.SidecarSuffix;
            string activity = $"Finishing {Path.GetFileName(output)}";
            Directory.CreateDirectory(Path.GetDirectoryName(output)!);
            string converted = host.Shell.IsLocal ? partial : diskOnHost + ".compressed.qcow2";
            try
            {
                // -c: zlib-compressed clusters; zeroed free space (done in the guest) compresses to nothing.
                string convert = $"{ShellQuote.Quote(qemuImg)} convert -c -O qcow2 {ShellQuote.Quote(diskOnHost)} {ShellQuote.Quote(converted)}";
                reporter.Progress(activity, "Compressing the disk (qemu-img convert -c)", -1);
                var result = await host.Shell.RunAsync(convert, cancellationToken).ConfigureAwait(false);
                if (!result.Succeeded)
                    throw new OpenBsdBuildException("ImageCompressFailed", FailureKind.InvalidResult,
                        $"qemu-img could not compress {diskOnHost} on {host.Name}: {result.Message}", diskOnHost,
                        "Check free space on the host; the disk must not be in use by a running guest.");
                if (!host.Shell.IsLocal)
                {
                    using var file = File.Create(partial);
                    await host.Shell.DownloadAsync(converted, file,
                        done => reporter.Progress(activity, $"Downloading {done / 1e6:F0} MB", -1), cancellationToken).ConfigureAwait(false);
                }

                reporter.Progress(activity, "Computing the SHA-256", -1);
                metadata.Size = new FileInfo(partial).Length;
                metadata.Sha256 = Builds.Checksums.Sha256File(partial);
                if (metadata.Created == default) metadata.Created = DateTime.UtcNow;
                if (string.IsNullOrEmpty(metadata.Name)) metadata.Name = Path.GetFileNameWithoutExtension(output);
                File.WriteAllText(sidecar, metadata.ToJson());
                File.Delete(output);
                File.Move(partial, output);
                reporter.Verbose($"Wrote {output} ({metadata.Size:N0} bytes, SHA-256 {metadata.Sha256}) and {sidecar}.");
                return (await LocalImageCatalog.GetAsync(output, cancellationToken).ConfigureAwait(false)).ToImage();
            }
            catch
            {
                File.Delete(partial);
                if (!File.Exists(output)) File.Delete(sidecar);
                throw;
            }
            finally
            {
                if (!host.Shell.IsLocal) await host.Shell.RunAsync($"rm -f {ShellQuote.Quote(converted)}", CancellationToken.None).ConfigureAwait(false);
                reporter.ProgressDone(activity);
            }
        }
    }
}
