using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Guest
{
    /// <summary>An image file on a host: its absolute path, disk format and (if present) its metadata sidecar.</summary>
    internal sealed class GuestImageInfo
    {
        public string Path { get; private set; } = "";
        public string Format { get; private set; } = "";
        public ImageMetadata? Metadata { get; private set; }
        /// <summary>
        /// The architecture of the UEFI boot loader the image carries (read only when it has no sidecar), or null.
        /// A UEFI disk boots EFI/BOOT/BOOT&lt;arch&gt;.EFI from its EFI system partition (UEFI spec 2.10, 3.5.1.1:
        /// BOOTAA64.EFI for AArch64, BOOTX64.EFI for x64); OpenBSD's installer puts its loader there
        /// (docs/compatibility.md, "Guests": the arm64 boot partition starts at 16 MiB).
        /// </summary>
        public string? BootLoaderArchitecture { get; private set; }

        private const string SidecarMarker = "@@openbsdbuild-sidecar@@";
        private const string LoaderMarker = "@@openbsdbuild-loader@@";

        /// <summary>
        /// How much of the disk is searched for the loader's directory entry, which sits near the start of the ESP:
        /// OpenBSD/arm64's begins at 16 MiB; an amd64 GPT install's at the start of the disk.
        /// </summary>
        internal const int LoaderSearchMegabytes = 64;

        public static async Task<GuestImageInfo> InspectAsync(IHostShell shell, string qemuImg, string image, CancellationToken cancellationToken)
        {
            string script = ShellTemplate.Load("image-info.sh").Render(new ShellInputs()
                .Set("OBB_IMAGE", image).Set("OBB_QEMU_IMG", qemuImg).Set("OBB_LOADER_MEGABYTES", LoaderSearchMegabytes));
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
            if (sidecar.StartsWith(LoaderMarker, System.StringComparison.Ordinal))
            {
                string loader = sidecar.Substring(LoaderMarker.Length).Trim();
                info.BootLoaderArchitecture = loader == "BOOTAA64EFI" ? "arm64" : loader == "BOOTX64 EFI" ? "amd64" : null;
            }
            else if (sidecar.Length > 0) info.Metadata = ImageMetadata.Parse(sidecar, info.Path + ImageMetadata.SidecarSuffix);
            return info;
        }
    }
}
