using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Hosts;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Guest
{
    /// <summary>
    /// Starts a guest on a host: overlay over the image, private UEFI vars, QEMU daemonized,
    /// then waits until the guest's SSH answers and its host key checks out. Whatever goes
    /// wrong (or is cancelled) on the way, the QEMU process and the guest's files are removed.
    /// </summary>
    public static class GuestLauncher
    {
        private static readonly Random PortPicker = new Random();

        public static async Task<OpenBsdGuest> StartAsync(MetalHost host, GuestOptions options, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            if (host.Native)
                throw new OpenBsdBuildException("NativeInstanceRunsNoGuests", FailureKind.InvalidOperation,
                    $"{host.Name} is an OpenBSD instance (New-OpenBsdInstance): it is the build machine itself and runs no guests.", host.Name,
                    "Pipe the instance straight to Invoke-GuestBuild; for guests, start a metal host with New-MetalHost.");
            var start = new GuestStart(options.Name ?? "obsd-" + Guid.NewGuid().ToString("N").Substring(0, 6));
            try
            {
                // Every host command of the start goes through the watched token: a dead link is HostLost in ~20 s, in any step.
                return await LinkWatch.RunAsync(host.Shell, ct => StartWatchedAsync(host, options, start, reporter, ct),
                    (why, inner) => HostLost(host, start, why, inner), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (start.Guest != null)
            {
                var guest = start.Guest;
                reporter.ProgressDone(BootActivity(guest));
                guest.Shell?.Dispose();
                guest.Shell = null;
                if (start.MayHaveFiles) await RemoveAfterFailureAsync(host, guest, start.HostLost, reporter).ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>How far a start got: what its HostLost says, and what its clean-up must remove.</summary>
        private sealed class GuestStart
        {
            public GuestStart(string name) => Name = name;
            public string Name { get; }
            public string Step { get; set; } = "starting";
            public OpenBsdGuest? Guest { get; set; }
            /// <summary>The guest's directory (or its QEMU) may exist on the host: from the moment its preparation is sent.</summary>
            public bool MayHaveFiles { get; set; }
            public bool HostLost { get; set; }
        }

        private static async Task<OpenBsdGuest> StartWatchedAsync(MetalHost host, GuestOptions options, GuestStart start, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            var caps = host.Capabilities;
            string qemuImg = caps.QemuImg ?? throw new OpenBsdBuildException("QemuNotInstalled", FailureKind.NotInstalled,
                $"qemu-img is not installed on {host.Name}.", host.Name, "Install it on the host (Debian/Ubuntu: apt-get install qemu-utils).");
            start.Step = $"inspecting its image {options.Image}";
            var image = await GuestImageInfo.InspectAsync(host.Shell, qemuImg, options.Image, cancellationToken).ConfigureAwait(false);

            // Said, recorded, or read from the image's boot loader; the host's own only when the image tells nothing.
            string? known = options.Architecture ?? image.Metadata?.Architecture ?? image.BootLoaderArchitecture;
            string arch = known ?? host.Architecture;
            if (known == null)
                reporter.Verbose($"'{options.Image}' has no metadata sidecar and no UEFI boot loader in its first {GuestImageInfo.LoaderSearchMegabytes} MB; " +
                                 $"assuming it is for this host's architecture ({arch}). Pass -Architecture if it is not.");
            string qemu = (arch == Architectures.Arm64 ? caps.QemuAarch64 : caps.QemuX86_64)
                ?? throw new OpenBsdBuildException("QemuNotInstalled", FailureKind.NotInstalled,
                    $"{Architectures.QemuBinary(arch)} is not installed on {host.Name}.", host.Name,
                    arch == Architectures.Arm64
                        ? "Install it on the host (Debian/Ubuntu: apt-get install qemu-system-arm qemu-efi-aarch64)."
                        : "Install it on the host (Debian/Ubuntu: apt-get install qemu-system-x86 ovmf).");
            string name = start.Name;
            string accelerator = AcceleratorChoice.For(host, arch, options.Accelerator, "guest " + name, reporter);
            HostKeyPolicy hostKeys = ChooseHostKeyPolicy(options, image);
            Firmware firmware;
            start.Step = "looking for its UEFI firmware";
            try
            {
                firmware = await Firmware.FindAsync(host.Shell, arch, options.FirmwareCode, options.FirmwareVars, cancellationToken).ConfigureAwait(false);
            }
            catch (OpenBsdBuildException e) when (known == null && e.ErrorId == "FirmwareNotFound")
            {
                throw new OpenBsdBuildException(e.ErrorId, e.Kind,
                    e.Message + $" {arch} is only this host's architecture: '{options.Image}' has no metadata sidecar and no UEFI boot loader that says what it is for.",
                    options.Image, $"Pass -Architecture arm64 or -Architecture amd64 to say what the image is for; if it is for {arch}: {e.RecommendedAction}", e);
            }
            var guest = new OpenBsdGuest(host, name, host.StateDirectory + "/guests/" + name)
            {
                Image = image.Path,
                Architecture = arch,
                OsVersion = image.Metadata == null ? null : $"{image.Metadata.OperatingSystem} {image.Metadata.Version}".Trim(),
                Accelerator = accelerator,
                MemoryMB = options.MemoryMB,
                CpuCount = options.CpuCount,
                User = options.User ?? (string.IsNullOrEmpty(image.Metadata?.BuildUser) ? "root" : image.Metadata!.BuildUser),
                KeyFile = options.KeyFile,
                MsiX = options.MsiX,
            };
            start.Guest = guest;

            guest.StartedAt = DateTime.UtcNow;
            start.Step = "preparing its files";
            await PrepareStateDirectoryAsync(host, guest, image, firmware, qemuImg, start, cancellationToken).ConfigureAwait(false);
            var spec = new GuestLaunchSpec
            {
                Name = name,
                Architecture = arch,
                Accelerator = accelerator,
                MemoryMB = options.MemoryMB,
                CpuCount = options.CpuCount,
                QemuBinary = qemu,
                FirmwareCode = firmware.Code,
                FirmwareVars = guest.StateDirectory + "/vars.fd",
                DiskPath = guest.OverlayPath,
                SerialLogPath = guest.SerialLogPath,
                QmpSocketPath = guest.QmpSocketPath,
                PidFile = guest.StateDirectory + "/qemu.pid",
                MsiX = options.MsiX,
            };
            var clock = Stopwatch.StartNew();
            start.Step = "launching QEMU";
            await LaunchAsync(host, guest, spec, options.SshPort, reporter, cancellationToken).ConfigureAwait(false);
            start.Step = "booting";
            await GuestReadiness.WaitForSshAsync(guest, options.BootTimeout, step => start.Step = step, reporter, cancellationToken).ConfigureAwait(false);

            start.Step = "being connected to over SSH";
            var target = new SshTarget("127.0.0.1", guest.SshPort, guest.User, options.KeyFile, hostKeys) { Name = name };
            var shell = await SshShell.ConnectAsync(target, cancellationToken, host.JumpShell).ConfigureAwait(false);
            guest.Shell = shell;
            guest.HostKeyFingerprint = shell.HostKeyFingerprint;
            guest.BootTime = clock.Elapsed;
            guest.State = GuestState.Running;
            start.Step = "being recorded on the host";
            await WriteRecordAsync(host, guest, cancellationToken).ConfigureAwait(false);
            host.AddGuest(guest);
            reporter.ProgressDone(BootActivity(guest));
            reporter.Verbose($"Guest {name} is ready after {clock.Elapsed.TotalSeconds:0.0} s");
            return guest;
        }

        /// <summary>
        /// Never leaves a QEMU or its files behind, even when the caller cancelled; but a host that stopped answering gets
        /// one short try, not TCP's quarter of an hour, and a warning that says how to finish the job.
        /// </summary>
        private static async Task RemoveAfterFailureAsync(MetalHost host, OpenBsdGuest guest, bool hostLost, IOperationReporter reporter)
        {
            using var bound = new CancellationTokenSource(hostLost ? LostHostCleanupTimeout : GuestControl.HostAnswerTimeout);
            try
            {
                await GuestControl.DestroyAsync(host, guest, TimeSpan.Zero, bound.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException || ex is OpenBsdBuildException { ErrorId: "ConnectionLost" })
            {
                reporter.Warning($"Guest {guest.Name} could not be removed from {host.Name}, which does not answer: its QEMU may still run there. " +
                                 $"Once the host answers again: Get-OpenBsdGuest -Name {guest.Name} | Stop-OpenBsdGuest (removing an EC2 host ends it too).");
            }
        }

        /// <summary>A start whose host stopped answering: which step it was in, and what had been made by then.</summary>
        private static OpenBsdBuildException HostLost(MetalHost host, GuestStart start, string why, Exception? inner)
        {
            start.HostLost = true;
            string made = start.Guest?.ProcessId is int pid ? $" Its QEMU had been started (pid {pid}) and may still run there."
                : start.MayHaveFiles ? $" Its files in {start.Guest!.StateDirectory} may be left there."
                : " Nothing had been created on it yet.";
            return new OpenBsdBuildException("HostLost", FailureKind.ConnectionError,
                $"{host.Name} {why} while guest {start.Name} was {start.Step}; the link to it may be down.{made}", start.Name,
                "Check that the host is reachable, then start the guest again; an EC2 host that is terminated ends its guests with it.", inner);
        }

        /// <summary>The one try at removing a guest from a host that already stopped answering.</summary>
        private static readonly TimeSpan LostHostCleanupTimeout = TimeSpan.FromSeconds(5);

        internal static string BootActivity(OpenBsdGuest guest) => $"Starting guest {guest.Name} on {guest.Host.Name}";

        private static HostKeyPolicy ChooseHostKeyPolicy(GuestOptions options, GuestImageInfo image)
        {
            if (options.HostKeyFingerprints.Count > 0) return HostKeyPolicy.Pinned(options.HostKeyFingerprints);
            if (image.Metadata != null && image.Metadata.HostKeyFingerprints.Count > 0) return HostKeyPolicy.Pinned(image.Metadata.HostKeyFingerprints);
            if (options.TrustHostKey) return HostKeyPolicy.TrustAnyKey();
            throw new OpenBsdBuildException("GuestHostKeyUnknown", FailureKind.SecurityError,
                $"The guest's SSH host key cannot be verified: '{image.Path}' has no metadata with host key fingerprints and none was given.",
                image.Path,
                "Pass -HostKeyFingerprint SHA256:..., use an image made by New-OpenBsdImage (its metadata pins the key), or say -TrustHostKey to accept any key explicitly.");
        }

        private static async Task PrepareStateDirectoryAsync(MetalHost host, OpenBsdGuest guest, GuestImageInfo image, Firmware firmware,
            string qemuImg, GuestStart start, CancellationToken cancellationToken)
        {
            string dir = ShellQuote.Quote(guest.StateDirectory);
            string script =
                $"if [ -e {dir}/qemu.pid ] && kill -0 \"$(cat {dir}/qemu.pid)\" 2>/dev/null; then echo in-use; exit 9; fi; " +
                $"rm -rf {dir} && mkdir -p {dir} && chmod 700 {dir} && " +
                $"{ShellQuote.Quote(qemuImg)} create -q -f qcow2 -b {ShellQuote.Quote(image.Path)} -F {image.Format} {ShellQuote.Quote(guest.OverlayPath)} && " +
                $"cp {ShellQuote.Quote(firmware.VarsTemplate)} {dir}/vars.fd && " +
                // Recorded with its first file: a start cut short leaves nothing that Get-OpenBsdGuest | Stop-OpenBsdGuest cannot find.
                RecordCommand(guest);
            start.MayHaveFiles = true;
            ShellResult result = await host.Shell.RunAsync(script, cancellationToken).ConfigureAwait(false);
            if (result.ExitCode == 9)
            {
                start.MayHaveFiles = false; // another guest's: not ours to remove
                throw new OpenBsdBuildException("GuestNameInUse", FailureKind.ResourceExists,
                    $"A guest named '{guest.Name}' is already running on {host.Name}.", guest.Name,
                    "Pick another -Name, or stop that guest first (Get-OpenBsdGuest -Name ... | Stop-OpenBsdGuest).");
            }
            if (!result.Succeeded)
                throw new OpenBsdBuildException("GuestPrepareFailed", FailureKind.WriteError,
                    $"Could not prepare the guest's files in {guest.StateDirectory} on {host.Name}: {result.Message}", guest.StateDirectory,
                    "Check free space and permissions in the host's state directory (Connect-MetalHost -StateDirectory).");
        }

        internal static async Task LaunchAsync(MetalHost host, OpenBsdGuest guest, GuestLaunchSpec spec, int requestedPort, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            for (int attempt = 1; ; attempt++)
            {
                spec.SshPort = requestedPort != 0 ? requestedPort : PickPort();
                guest.SshPort = spec.SshPort;
                string command = QemuCommandLine.Render(spec);
                reporter.Progress(BootActivity(guest), "Launching QEMU", -1);
                ShellResult result = await host.Shell.RunAsync(command + " && cat " + ShellQuote.Quote(spec.PidFile), cancellationToken).ConfigureAwait(false);
                if (result.Succeeded && int.TryParse(result.Stdout.Trim().Split('\n').Last().Trim(), out int pid))
                {
                    guest.ProcessId = pid;
                    await WriteRecordAsync(host, guest, cancellationToken).ConfigureAwait(false);
                    return;
                }

                bool portTaken = result.Message.IndexOf("host forwarding", StringComparison.OrdinalIgnoreCase) >= 0;
                if (portTaken && requestedPort == 0 && attempt < 5) continue;
                // The console socket's port is always picked here (the image build's), so another is as good.
                bool consolePortTaken = spec.SerialPort != 0 && result.Message.IndexOf("Failed to find an available port", StringComparison.OrdinalIgnoreCase) >= 0;
                if (consolePortTaken && attempt < 5)
                {
                    spec.SerialPort = PickPort();
                    continue;
                }
                if (portTaken)
                    throw new OpenBsdBuildException("PortInUse", FailureKind.ResourceExists,
                        $"Port {spec.SshPort} on {host.Name}'s loopback is already in use, so the guest's SSH cannot be forwarded there.",
                        spec.SshPort, "Pass another -SshPort, or leave it out to pick a free one.");
                throw new OpenBsdBuildException("QemuFailed", FailureKind.InvalidOperation,
                    $"QEMU did not start on {host.Name}: {result.Message}", guest.Name,
                    "Read QEMU's message above; run with -Verbose to see the full command line.");
            }
        }

        internal static int PickPort()
        {
            lock (PortPicker) return PortPicker.Next(20000, 60000);
        }

        internal static Task WriteRecordAsync(MetalHost host, OpenBsdGuest guest, CancellationToken cancellationToken) =>
            host.Shell.RunAsync(RecordCommand(guest), cancellationToken);

        /// <summary>Writes guest.json, which any later session lists (Get-OpenBsdGuest) and stops by.</summary>
        private static string RecordCommand(OpenBsdGuest guest)
        {
            var record = new GuestRecord
            {
                Name = guest.Name,
                Image = guest.Image,
                Architecture = guest.Architecture,
                Accelerator = guest.Accelerator,
                MemoryMB = guest.MemoryMB,
                CpuCount = guest.CpuCount,
                Pid = guest.ProcessId,
                SshPort = guest.SshPort,
                User = guest.User,
                HostKeyFingerprint = guest.HostKeyFingerprint,
                OsVersion = guest.OsVersion,
                StartedAt = guest.StartedAt,
            };
            string path = ShellQuote.Quote(guest.StateDirectory + "/guest.json");
            return $"printf '%s\\n' {ShellQuote.Quote(record.ToJson())} > {path}";
        }
    }
}
