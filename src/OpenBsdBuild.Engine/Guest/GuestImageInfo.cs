using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Guest
{
    /// <summary>An image file on a host: its absolute path, disk format and (if present) its metadata sidecar.</summary>
    internal sealed class GuestImageInfo
    {
        public string Path { get; private set; } = "";
        public string Format { get; private set; } = "";
        public ImageMetadata? Metadata { get; private set; }

        private const string SidecarMarker = "@@openbsdbuild-sidecar@@";

        public static async Task<GuestImageInfo> InspectAsync(IHostShell shell, string qemuImg, string image, CancellationToken cancellationToken)
        {
            string script = ShellTemplate.Load("image-info.sh").Render(new ShellInputs().Set("OBB_IMAGE", image).Set("OBB_QEMU_IMG", qemuImg));
            ShellResult result = await shell.RunAsync(script, cancellationToken).ConfigureAwait(false);
            switch (result.ExitCode)
            {
                case 0: break;
                case 3:
                    throw new OpenBsdBuildException("ImageNotFound", FailureKind.ObjectNotFound,
                        $"The image '{image}' does not exist on {shell.Description}.", image,
                        "Pass -Image with the path of a qcow2 or raw image on that host (it is read on the host, not here).");
                case 4:
                    throw new OpenBsdBuildException("ImageUnreadable", FailureKind.PermissionDenied,
                        $"The image '{image}' exists on {shell.Description} but cannot be read.", image,
                        "Fix the file's permissions for the SSH user, or copy it somewhere readable.");
                default:
                    throw new OpenBsdBuildException("ImageUnreadable", FailureKind.InvalidData,
                        $"qemu-img could not read '{image}' on {shell.Description}: {result.Message}", image,
                        "Check that the file is a complete disk image (not a truncated download).");
            }

            int marker = result.Stdout.IndexOf(SidecarMarker, System.StringComparison.Ordinal);
            string head = result.Stdout.Substring(0, marker);
            string sidecar = result.Stdout.Substring(marker + SidecarMarker.Length).Trim();
            int firstNewline = head.IndexOf('\n');
            var info = new GuestImageInfo { Path = head.Substring(0, firstNewline).Trim() };

            using (var doc = JsonDocument.Parse(head.Substring(firstNewline + 1)))
                info.Format = doc.RootElement.TryGetProperty("format", out var f) ? f.GetString() ?? "" : "";
            if (info.Format != "qcow2" && info.Format != "raw")
                throw new OpenBsdBuildException("ImageFormatUnsupported", FailureKind.InvalidData,
                    $"'{image}' is a '{info.Format}' image; guests boot from qcow2 or raw images only.", image,
                    $"Convert it first: qemu-img convert -O qcow2 {image} image.qcow2");
            if (sidecar.Length > 0) info.Metadata = ImageMetadata.Parse(sidecar, info.Path + ImageMetadata.SidecarSuffix);
            return info;
        }
    }
}
