using System;
using System.Diagnostics;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Hosts;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// The machine an image is installed on: its empty disk, UEFI firmware, and the root credentials
    /// used only while building (a random password for the serial console, an ephemeral SSH key).
    /// Each boot is a QEMU started with the guest launcher's command line.
    /// </summary>
    internal sealed class BuildMachine
    {
        private readonly GuestLaunchSpec _template;
        private readonly string _work;

        private BuildMachine(MetalHost host, string work, GuestLaunchSpec template, string varsTemplate)
        {
            Host = host;
            _work = work;
            _template = template;
            VarsTemplate = varsTemplate;
        }

        public MetalHost Host { get; }
        public string DiskPath => _template.DiskPath;
        public string VarsTemplate { get; }
        public string RootPassword { get; private set; } = "";
        public string RootKeyFile { get; private set; } = "";
        public string RootPublicKey { get; private set; } = "";

        public static async Task<BuildMachine> PrepareAsync(MetalHost host, ImageBuildRequest request, string work, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            var caps = host.Capabilities;
            string qemuImg = caps.QemuImg ?? throw new OpenBsdBuildException("QemuNotInstalled", FailureKind.NotInstalled,
                $"qemu-img is not installed on {host.Name}.", host.Name, "Install it on the host (Debian/Ubuntu: apt-get install qemu-utils).");
            string qemu = (request.Architecture == Architectures.Arm64 ? caps.QemuAarch64 : caps.QemuX86_64)
                ?? throw new OpenBsdBuildException("QemuNotInstalled", FailureKind.NotInstalled,
                    $"{Architectures.QemuBinary(request.Architecture)} is not installed on {host.Name}.", host.Name,
                    "Install QEMU for that architecture on the host (Debian/Ubuntu: qemu-system-arm qemu-efi-aarch64, or qemu-system-x86 ovmf).");
            var firmware = await Firmware.FindAsync(host.Shell, request.Architecture, null, null, cancellationToken).ConfigureAwait(false);

            Directory.CreateDirectory(work);
            string disk = Path.Combine(work, "disk.qcow2");
            string create = $"{ShellQuote.Quote(qemuImg)} create -q -f qcow2 {ShellQuote.Quote(disk)} {request.DiskSizeText}";
            var created = await host.Shell.RunAsync(create, cancellationToken).ConfigureAwait(false);
            if (!created.Succeeded)
                throw new OpenBsdBuildException("ImageDiskCreateFailed", FailureKind.WriteError, $"Could not create the disk: {created.Message}", disk,
                    "Check free space in the host's state directory.");

            var template = new GuestLaunchSpec
            {
                Architecture = request.Architecture,
                Accelerator = request.Architecture == host.Architecture ? caps.NativeAccelerator : "tcg",
                MemoryMB = request.MemoryMB,
                CpuCount = request.CpuCount,
                QemuBinary = qemu,
                FirmwareCode = firmware.Code,
                DiskPath = disk,
                NoReboot = true,
            };
            var machine = new BuildMachine(host, work, template, firmware.VarsTemplate)
            {
                RootPassword = RandomPassword(),
                RootKeyFile = Path.Combine(work, "root_ed25519"),
            };
            var keygen = await host.Shell.RunAsync($"ssh-keygen -q -t ed25519 -N '' -C openbsdbuild-image-build -f {ShellQuote.Quote(machine.RootKeyFile)}", cancellationToken)
                .ConfigureAwait(false);
            if (!keygen.Succeeded)
                throw new OpenBsdBuildException("SshKeygenFailed", FailureKind.NotInstalled, $"ssh-keygen failed: {keygen.Message}", null,
                    "Install OpenSSH's client tools (ssh-keygen) on this machine.");
            machine.RootPublicKey = File.ReadAllText(machine.RootKeyFile + ".pub").Trim();
            return machine;
        }

        /// <summary>Starts QEMU on the disk (with the install media first when given), console on a loopback socket.</summary>
        public async Task<Boot> LaunchAsync(string name, string? installMedia, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var guest = new OpenBsdGuest(Host, name, Path.Combine(_work, name)) { Architecture = _template.Architecture };
            Directory.CreateDirectory(guest.StateDirectory);
            File.Copy(VarsTemplate, Path.Combine(guest.StateDirectory, "vars.fd"));
            var spec = new GuestLaunchSpec
            {
                Name = "obb-image-" + name,
                Architecture = _template.Architecture,
                Accelerator = _template.Accelerator,
                MemoryMB = _template.MemoryMB,
                CpuCount = _template.CpuCount,
                QemuBinary = _template.QemuBinary,
                FirmwareCode = _template.FirmwareCode,
                FirmwareVars = Path.Combine(guest.StateDirectory, "vars.fd"),
                DiskPath = _template.DiskPath,
                SerialLogPath = guest.SerialLogPath,
                QmpSocketPath = guest.QmpSocketPath,
                PidFile = Path.Combine(guest.StateDirectory, "qemu.pid"),
                InstallMediaPath = installMedia,
                SerialPort = GuestLauncher.PickPort(),
                NoReboot = true,
            };
            try
            {
                await GuestLauncher.LaunchAsync(Host, guest, spec, 0, reporter, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await GuestControl.DestroyAsync(Host, guest, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            return new Boot(Host, guest, spec.SerialPort);
        }

        private static string RandomPassword()
        {
            const string alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
            var bytes = new byte[24];
            using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(bytes);
            var chars = new char[bytes.Length];
            for (int i = 0; i < bytes.Length; i++) chars[i] = alphabet[bytes[i] % alphabet.Length];
            return new string(chars);
        }

        /// <summary>One running QEMU of the build.</summary>
        internal sealed class Boot
        {
            private readonly MetalHost _host;
            private readonly OpenBsdGuest _guest;

            public Boot(MetalHost host, OpenBsdGuest guest, int serialPort)
            {
                _host = host;
                _guest = guest;
                SerialPort = serialPort;
            }

            public int SerialPort { get; }
            public int SshPort => _guest.SshPort;

            public async Task WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken)
            {
                var clock = Stopwatch.StartNew();
                using var polling = OperationTrace.Polling();
                while (clock.Elapsed < timeout)
                {
                    var alive = await _host.Shell.RunAsync($"kill -0 {_guest.ProcessId} 2>/dev/null", cancellationToken).ConfigureAwait(false);
                    if (!alive.Succeeded) return;
                    await Task.Delay(1000, cancellationToken).ConfigureAwait(false);
                }
                throw new OpenBsdBuildException("GuestDidNotPowerOff", FailureKind.OperationTimeout,
                    $"The guest did not power off within {timeout.TotalMinutes:0} min.", _guest.Name, "Read the serial log; the image was not written.");
            }

            /// <summary>Kills QEMU if it still runs and removes this boot's files (never the disk).</summary>
            public Task DestroyAsync() => GuestControl.DestroyAsync(_host, _guest, TimeSpan.Zero, CancellationToken.None);
        }
    }
}
