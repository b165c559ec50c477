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
using OpenBsdBuild.Scripts;
using OpenBsdBuild.Timing;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// The machine an image is installed on: its empty disk (in a build folder on the host), UEFI
    /// firmware, and the root credentials used only while building (a random password for the serial
    /// console, an ephemeral SSH key kept on this machine).
    /// Each boot is a QEMU started with the guest launcher's command line.
    /// </summary>
    internal sealed class BuildMachine : IDisposable
    {
        private readonly GuestLaunchSpec _template;
        private readonly string _work;

        private readonly EphemeralKeyPair _rootKey;

        private BuildMachine(MetalHost host, string work, GuestLaunchSpec template, string varsTemplate, EphemeralKeyPair rootKey)
        {
            Host = host;
            _rootKey = rootKey;
            _work = work;
            _template = template;
            VarsTemplate = varsTemplate;
        }

        public MetalHost Host { get; }
        public string DiskPath => _template.DiskPath;
        public string VarsTemplate { get; }
        public string RootPassword { get; private set; } = "";
        /// <summary>The key root's SSH login accepts during the build (removed from the image by the first boot).</summary>
        public string RootKeyFile => _rootKey.PrivateKeyFile;
        public string RootPublicKey => _rootKey.PublicKeyLine;

        /// <summary>Deletes the root key from this machine.</summary>
        public void Dispose() => _rootKey.Dispose();

        /// <param name="work">The build's folder on the host (disk, QEMU files).</param>
        public static async Task<BuildMachine> PrepareAsync(MetalHost host, ImageBuildRequest request, string work,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var caps = host.Capabilities;
            string qemuImg = caps.QemuImg ?? throw new OpenBsdBuildException("QemuNotInstalled", FailureKind.NotInstalled,
                $"qemu-img is not installed on {host.Name}.", host.Name, "Install it on the host (Debian/Ubuntu: apt-get install qemu-utils).");
            string qemu = (request.Architecture == Architectures.Arm64 ? caps.QemuAarch64 : caps.QemuX86_64)
                ?? throw new OpenBsdBuildException("QemuNotInstalled", FailureKind.NotInstalled,
                    $"{Architectures.QemuBinary(request.Architecture)} is not installed on {host.Name}.", host.Name,
                    "Install QEMU for that architecture on the host (Debian/Ubuntu: qemu-system-arm qemu-efi-aarch64, or qemu-system-x86 ovmf).");
            var firmware = await Firmware.FindAsync(host.Shell, request.Architecture, null, null, cancellationToken).ConfigureAwait(false);

            string disk = work + "/disk.qcow2";
            string create = $"mkdir -p {ShellQuote.Quote(work)} && chmod 700 {ShellQuote.Quote(work)} && " +
                            $"{ShellQuote.Quote(qemuImg)} create -q -f qcow2 {ShellQuote.Quote(disk)} {request.DiskSizeText}";
            var created = await host.Shell.RunAsync(create, cancellationToken).ConfigureAwait(false);
            if (!created.Succeeded)
                throw new OpenBsdBuildException("ImageDiskCreateFailed", FailureKind.WriteError, $"Could not create the disk on {host.Name}: {created.Message}", disk,
                    "Check free space in the host's state directory.");

            var template = new GuestLaunchSpec
            {
                Architecture = request.Architecture,
                Accelerator = AcceleratorChoice.For(host, request.Architecture, null, "the installer", reporter, canAskForTcg: false),
                MemoryMB = request.MemoryMB,
                CpuCount = request.CpuCount,
                QemuBinary = qemu,
                FirmwareCode = firmware.Code,
                DiskPath = disk,
                NoReboot = true,
            };
            // Generated here: the SSH client of the first boot runs in this process, wherever the host is.
            var key = EphemeralKeyPair.Generate("openbsdbuild-image-build-" + Path.GetFileName(work));
            return new BuildMachine(host, work, template, firmware.VarsTemplate, key) { RootPassword = RandomPassword() };
        }

        /// <summary>Starts QEMU on the disk (with the install media first when given), console on a loopback socket.</summary>
        public async Task<Boot> LaunchAsync(string name, string? installMedia, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var guest = new OpenBsdGuest(Host, name, _work + "/" + name) { Architecture = _template.Architecture };
            string vars = guest.StateDirectory + "/vars.fd";
            var prepared = await Host.Shell.RunAsync($"mkdir -p {ShellQuote.Quote(guest.StateDirectory)} && cp {ShellQuote.Quote(VarsTemplate)} {ShellQuote.Quote(vars)}",
                cancellationToken).ConfigureAwait(false);
            if (!prepared.Succeeded)
                throw new OpenBsdBuildException("GuestPrepareFailed", FailureKind.WriteError,
                    $"Could not prepare {guest.StateDirectory} on {Host.Name}: {prepared.Message}", guest.StateDirectory,
                    "Check free space and permissions in the host's state directory.");
            var spec = new GuestLaunchSpec
            {
                Name = "obb-image-" + name,
                Architecture = _template.Architecture,
                Accelerator = _template.Accelerator,
                MemoryMB = _template.MemoryMB,
                CpuCount = _template.CpuCount,
                QemuBinary = _template.QemuBinary,
                FirmwareCode = _template.FirmwareCode,
                FirmwareVars = vars,
                DiskPath = _template.DiskPath,
                SerialLogPath = guest.SerialLogPath,
                QmpSocketPath = guest.QmpSocketPath,
                PidFile = guest.StateDirectory + "/qemu.pid",
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
                using var polling = OperationTrace.Polling();
                await Poll.UntilTrueAsync(async _ =>
                        !(await _host.Shell.RunAsync($"kill -0 {_guest.ProcessId} 2>/dev/null", cancellationToken).ConfigureAwait(false)).Succeeded,
                    Backoff.Every(TimeSpan.FromSeconds(1)), timeout,
                    _ => new OpenBsdBuildException("GuestDidNotPowerOff", FailureKind.OperationTimeout,
                        $"The guest did not power off within {timeout.TotalMinutes:0} min.", _guest.Name, "Read the serial log; the image was not written."),
                    cancellationToken).ConfigureAwait(false);
            }

            /// <summary>Kills QEMU if it still runs and removes this boot's files (never the disk).</summary>
            public Task DestroyAsync() => GuestControl.DestroyAsync(_host, _guest, TimeSpan.Zero, CancellationToken.None);
        }
    }
}
