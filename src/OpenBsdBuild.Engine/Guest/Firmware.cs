using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Guest
{
    /// <summary>UEFI firmware (code + variable-store template) for a guest architecture, as found on a host.</summary>
    public sealed class Firmware
    {
        public Firmware(string code, string varsTemplate)
        {
            Code = code;
            VarsTemplate = varsTemplate;
        }

        public string Code { get; }
        public string VarsTemplate { get; }

        // Pairs as distributions ship them. The pflash images must be padded to the flash size
        // (64 MiB on arm64 virt), which is why the 2 MiB QEMU_EFI.fd is not a candidate.
        private static readonly Dictionary<string, (string code, string vars)[]> Candidates = new Dictionary<string, (string, string)[]>
        {
            ["arm64"] = new[]
            {
                ("/usr/share/AAVMF/AAVMF_CODE.no-secboot.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"), // Ubuntu
                ("/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"),             // Debian, Ubuntu
                ("/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw", "/usr/share/edk2/aarch64/vars-template-pflash.raw"), // Fedora
                ("/opt/homebrew/share/qemu/edk2-aarch64-code.fd", "/opt/homebrew/share/qemu/edk2-arm-vars.fd"),   // macOS Homebrew
            },
            ["amd64"] = new[]
            {
                ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
                ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),
                ("/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"),
                ("/opt/homebrew/share/qemu/edk2-x86_64-code.fd", "/opt/homebrew/share/qemu/edk2-i386-vars.fd"),
            },
        };

        public static async Task<Firmware> FindAsync(IHostShell shell, string architecture, string? code, string? vars, CancellationToken cancellationToken)
        {
            var pairs = code != null && vars != null ? new[] { (code, vars) } : Candidates[architecture];
            string script = ShellTemplate.Load("find-firmware.sh").Render(new ShellInputs()
                .Set("OBB_CANDIDATES", string.Join("\n", pairs.Select(p => RequireOneLine(p.code) + "|" + RequireOneLine(p.vars)))));
            ShellResult found = await shell.RunAsync(script, cancellationToken).ConfigureAwait(false);
            string? first = found.Stdout.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("|"));
            if (first == null)
            {
                string package = architecture == "arm64" ? "qemu-efi-aarch64" : "ovmf";
                throw new OpenBsdBuildException("FirmwareNotFound", FailureKind.NotInstalled,
                    $"No UEFI firmware for {architecture} guests on {shell.Description} (looked for {string.Join(", ", pairs.Select(p => p.code))}).",
                    shell.Description,
                    $"Install it on the host (Debian/Ubuntu: apt-get install {package}), or pass -FirmwareCode and -FirmwareVars.");
            }
            string[] parts = first.Split('|');
            return new Firmware(parts[0], parts[1]);
        }

        /// <summary>find-firmware.sh takes code|vars pairs, one per line.</summary>
        private static string RequireOneLine(string path) => path.IndexOf('\n') < 0 && path.IndexOf('|') < 0 ? path
            : throw new OpenBsdBuildException("FirmwareNotFound", FailureKind.InvalidArgument, $"'{path}' cannot be a firmware path (it holds a line break or |).", path,
                "Pass -FirmwareCode and -FirmwareVars as plain paths on the host.");
    }
}
