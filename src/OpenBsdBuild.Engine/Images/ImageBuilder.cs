using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Installer;
using OpenBsdBuild.Images.Media;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// New-OpenBsdImage from start to end, on any host (this machine, over SSH, or EC2 metal): verify
    /// the media (before anything boots, on this machine), install (autoinstall with a response file
    /// served on the host's loopback, or the interactive conversation), first boot (host keys read on
    /// the serial console, then everything else over SSH pinned to them), and finish (compressed qcow2,
    /// SHA-256, sidecar). Whatever fails, QEMU and the work files on the host are removed.
    /// </summary>
    public static class ImageBuilder
    {
        private static readonly Regex FirstPrompt = new Regex(@"\(I\)nstall, \(U\)pgrade, \(A\)utoinstall or \(S\)hell\? ?$", RegexOptions.Multiline);
        private static readonly Regex ResponseFilePrompt = new Regex(@"Response file location\?[^\n]*$", RegexOptions.Multiline);
        // install.sub 1.1266: a missing answer, a response file it could not get, the line every failed autoinstall ends with; a kernel panic.
        private static readonly Regex AutoinstallFailed = new Regex(
            @"Question has no answer in response file|No response file found; non-interactive mode aborted|failed; check /tmp/ai/ai\.log|^panic: ", RegexOptions.Multiline);
        private const string HaltedText = "Please press any key to reboot.";
        private static readonly Regex AutoinstallFailedOrHalted = new Regex(AutoinstallFailed + "|" + Regex.Escape(HaltedText), RegexOptions.Multiline);
        private static readonly Regex LoginPrompt = new Regex(@"login: $", RegexOptions.Multiline);
        private static readonly Regex PasswordPrompt = new Regex(@"Password:\s*$", RegexOptions.Multiline);
        private static readonly Regex ShellPrompt = new Regex(@"# $", RegexOptions.Multiline);

        public static async Task<OpenBsdImage> BuildAsync(MetalHost host, ImageBuildRequest request, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            request.Validate();
            if (request.Packages.Count > 0 && !request.PackagesFromDirectory)
                await CheckPackagePathAsync(request, reporter, cancellationToken).ConfigureAwait(false);

            string id = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") + "-" + Guid.NewGuid().ToString("N").Substring(0, 6);
            // Mirror downloads land on this machine (they are verified here); the disk and QEMU live on the host.
            string local = Path.Combine(Path.GetTempPath(), "openbsdbuild-image-" + id);
            string work = host.StateDirectory + "/image-builds/" + id;
            try
            {
                var media = await InstallMediaSource.PrepareAsync(request, Path.Combine(local, "media"), host.Shell.IsLocal, reporter, cancellationToken).ConfigureAwait(false);
                RequireSignedMedia(request, media);
                var sets = SelectedSets(request, media);
                using var machine = await BuildMachine.PrepareAsync(host, request, work, reporter, cancellationToken).ConfigureAwait(false);
                string mediaOnHost = await PlaceMediaAsync(host, media, work, reporter, cancellationToken).ConfigureAwait(false);

                using var server = ResponseServer.Start(reporter);
                // A remote host's QEMU reaches it on that host's loopback, through the SSH session.
                using var exposed = await host.Shell.ExposeLocalPortAsync(server.Port, cancellationToken).ConfigureAwait(false);
                server.GuestPort = exposed.Port;
                string packagePath = request.EffectivePackagePath();
                if (request.PackagesFromDirectory)
                {
                    server.AddDirectory("packages", request.PackagePath!);
                    packagePath = server.Url("packages") + "/";
                }

                await InstallAsync(machine, request, mediaOnHost, server, reporter, cancellationToken).ConfigureAwait(false);
                var report = await FirstBootAsync(machine, request, packagePath, reporter, cancellationToken).ConfigureAwait(false);

                var metadata = new ImageMetadata
                {
                    Name = Path.GetFileNameWithoutExtension(request.Output),
                    Version = request.Version,
                    Architecture = request.Architecture,
                    Sets = sets,
                    Packages = report.Packages,
                    BuildUser = request.BuildUser,
                    // An EC2 image ships no host keys: each instance makes its own and prints them on its console.
                    HostKeyFingerprints = request.Target == ImageTargets.Ec2 ? new List<string>() : report.HostKeys,
                    DiskSize = request.DiskSize,
                    RelinkDisabled = request.SkipRelink || request.Kernel != null,
                    KernelSha256 = request.InspectKernel()?.Sha256,
                    Target = request.Target,
                    Created = DateTime.UtcNow,
                };
                return await ImageFinisher.FinishAsync(host, machine.DiskPath, request.Output, metadata, reporter, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                try { Directory.Delete(local, recursive: true); } catch (IOException) { }
                await host.Shell.RunAsync($"rm -rf {ShellQuote.Quote(work)}", CancellationToken.None).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// The installer cannot check the sets on installNN.img (no SHA256.sig there) and the response file
        /// tells it to go on; that is only right when this module checked the signature of the media itself.
        /// </summary>
        private static void RequireSignedMedia(ImageBuildRequest request, VerifiedInstallMedia media)
        {
            if (media.SignatureChecked) return;
            throw new OpenBsdBuildException("InstallMediaSignatureUnchecked", FailureKind.SecurityError,
                $"The signature of {media.Name}'s SHA256.sig was not checked (no signify public key for OpenBSD {request.Version}), and the installer " +
                "cannot check the sets on the media itself, so nothing would vouch for what gets installed. Nothing was booted.",
                media.Name, $"Pass -SignifyPublicKey with openbsd-{request.ShortVersion}-base.pub (from a trusted OpenBSD system's /etc/signify).");
        }

        /// <summary>The set files the answers install, from the verified release list; refused before boot when bsd or base is missing.</summary>
        private static List<string> SelectedSets(ImageBuildRequest request, VerifiedInstallMedia media)
        {
            var sets = InstallSetSelection.Resolve(request.Sets, media.ReleaseFiles, request.ShortVersion, request.CpuCount);
            // install.sub's sane_install() would ask "Are you *SURE* your install is complete without ...?", which stops an autoinstall.
            foreach (string required in new[] { "bsd", $"base{request.ShortVersion}.tgz" })
                if (!sets.Contains(required))
                    throw OpenBsdBuildException.BadParameter("Sets", string.Join(" ", request.Sets),
                        $"would not install {required} (the answers select: {(sets.Count == 0 ? "nothing" : string.Join(" ", sets))}).",
                        "Deselect only optional sets, e.g. -Sets '-x* -game*'.");
            return sets;
        }

        /// <summary>
        /// The verified media where the host's QEMU reads it: in place on this machine; on a remote host in
        /// the build folder, fetched there from the mirror by the host itself (or copied from this machine),
        /// and its SHA-256 checked there against the verified list: what was verified is what boots.
        /// </summary>
        private static async Task<string> PlaceMediaAsync(MetalHost host, VerifiedInstallMedia media, string work, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            if (host.Shell.IsLocal && media.Path != null) return media.Path;
            string target = work + "/" + media.Name;
            string activity = $"Bringing {media.Name} onto {host.Name}";
            try
            {
                if (media.Path != null)
                {
                    long total = new FileInfo(media.Path).Length;
                    using var source = File.OpenRead(media.Path);
                    await host.Shell.UploadAsync(source, target, done => reporter.Progress(activity, $"Copying: {done / 1e6:F0} of {total / 1e6:F0} MB",
                        total > 0 ? (int)(done * 100 / total) : -1), cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    reporter.Verbose($"{host.Name} downloads {media.Url} itself with curl");
                    var (exit, errors) = await HostDownload.CurlAsync(host, media.Url!, target, "the install media",
                        done => reporter.Progress(activity, $"Downloading on the host: {done / 1e6:F0} MB", -1), cancellationToken).ConfigureAwait(false);
                    if (exit != 0)
                        throw new OpenBsdBuildException("InstallMediaDownloadFailed", FailureKind.ConnectionError,
                            $"{host.Name} could not download {media.Url} (curl exit {exit}): {errors}", media.Url,
                            "Check that the host can reach the mirror, or download the media and pass -InstallMedia.");
                }
                reporter.Progress(activity, "Checking the SHA-256 on the host", -1);
            }
            finally
            {
                reporter.ProgressDone(activity);
            }
            string? hash = await Builds.Checksums.OfRemoteFileAsync(host.Shell, target, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(hash, media.Sha256, StringComparison.OrdinalIgnoreCase))
                throw new OpenBsdBuildException("ChecksumMismatch", FailureKind.SecurityError,
                    $"{media.Name} on {host.Name} has SHA-256 {hash ?? "(unreadable)"}, but the verified list says {media.Sha256}. Nothing was booted from it.",
                    target, media.Path == null ? "The mirror served a different file; try another mirror." : "Check the host's disk and try again.");
            reporter.Verbose($"{target} on {host.Name}: SHA-256 matches the verified list.");
            return target;
        }

        internal static async Task CheckPackagePathAsync(ImageBuildRequest request, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string url = request.EffectivePackagePath();
            reporter.Verbose($"Checking the package path {url}");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            HttpStatusCode? status = null;
            string? problem = null;
            try
            {
                // What pkg_add itself fetches to list the repository (PackageRepository.pm get_http_list).
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                status = response.StatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                problem = ex.Message;
            }
            if (status == HttpStatusCode.OK) return;
            throw new OpenBsdBuildException("PackagePathUnreachable", FailureKind.ConnectionError,
                $"The package path {url} cannot be used: {problem ?? $"it answered {(int)status!.Value} {status}"}.", url,
                "Pass -PackagePath with a package directory of this release and architecture (e.g. https://cdn.openbsd.org/pub/OpenBSD/7.8/packages/aarch64/), or check the network.");
        }

        private static async Task InstallAsync(BuildMachine machine, ImageBuildRequest request, string mediaOnHost, ResponseServer server,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            const string activity = "Installing OpenBSD";
            var options = request.ToInstallOptions(machine.RootPassword, machine.RootPublicKey, server.Url("disklabel"));
            server.Add("install.conf", ResponseFile.Build(options).ToText());
            server.Add("disklabel", options.DiskLayout!.ToText());

            var boot = await machine.LaunchAsync("install", mediaOnHost, reporter, cancellationToken).ConfigureAwait(false);
            using var console = await SerialConsole.ConnectAsync(machine.Host.Shell, boot.SerialPort, cancellationToken).ConfigureAwait(false);
            try
            {
                reporter.Progress(activity, "Waiting for the installer's first question", -1);
                if (request.Interactive)
                {
                    // Answers each question only once it has appeared; an unknown one stops with the transcript.
                    await new InstallerConversation(console.Stream, console.Stream, options, null, reporter).RunAsync(cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await console.WaitForAsync(FirstPrompt, TimeSpan.FromMinutes(10), "the installer's first question", cancellationToken).ConfigureAwait(false);
                    await console.SendLineAsync("a", false, cancellationToken).ConfigureAwait(false);
                    await console.WaitForAsync(ResponseFilePrompt, TimeSpan.FromMinutes(5), "\"Response file location?\"", cancellationToken).ConfigureAwait(false);
                    // The guest's 10.0.2.2 is the host's loopback (docs/openbsd-notes.md), where the response file is served.
                    await console.SendLineAsync(server.Url("install.conf"), false, cancellationToken).ConfigureAwait(false);
                    reporter.Progress(activity, "autoinstall is running (sets, then relinking)", -1);
                }
                await WaitForPowerOffAsync(console, request.InstallTimeout, "the installer to finish and reboot", cancellationToken).ConfigureAwait(false);
                if (!server.Served("install.conf") && !request.Interactive)
                    throw console.Failure("AutoinstallNotStarted", FailureKind.InvalidResult, "The guest stopped without fetching the response file.",
                        "Read the transcript; the installer may not have reached the network.");
                reporter.Verbose("The install finished; the guest rebooted (QEMU exits instead, -no-reboot).");
            }
            finally
            {
                reporter.ProgressDone(activity);
                await boot.DestroyAsync().ConfigureAwait(false);
            }
        }

        private static async Task<FirstBootReport> FirstBootAsync(BuildMachine machine, ImageBuildRequest request, string packagePath,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            const string activity = "First boot";
            var boot = await machine.LaunchAsync("firstboot", null, reporter, cancellationToken).ConfigureAwait(false);
            try
            {
                List<string> hostKeys;
                using (var console = await SerialConsole.ConnectAsync(machine.Host.Shell, boot.SerialPort, cancellationToken).ConfigureAwait(false))
                {
                    // The console is a private line to the guest: what it prints there pins SSH (no trust on first use).
                    reporter.Progress(activity, "Waiting for the login prompt (first boot runs fw_update and relinks)", -1);
                    await console.WaitForAsync(LoginPrompt, request.FirstBootTimeout, "the first boot's login prompt", cancellationToken).ConfigureAwait(false);
                    await console.SendLineAsync("root", false, cancellationToken).ConfigureAwait(false);
                    await console.WaitForAsync(PasswordPrompt, TimeSpan.FromMinutes(1), "the password prompt", cancellationToken).ConfigureAwait(false);
                    await console.SendLineAsync(machine.RootPassword, true, cancellationToken).ConfigureAwait(false);
                    await console.WaitForAsync(ShellPrompt, TimeSpan.FromMinutes(1), "root's shell prompt", cancellationToken).ConfigureAwait(false);
                    // Markers at the start of a line: the console also echoes the command, which holds them too.
                    await console.SendLineAsync(FirstBootScript.FingerprintCommand, false, cancellationToken).ConfigureAwait(false);
                    var listed = await console.WaitForAsync(new Regex(@"(?ms)^@@obb-hostkeys@@\r?\n(.*?)^@@obb-hostkeys@@"), TimeSpan.FromMinutes(1),
                        "the host key fingerprints", cancellationToken).ConfigureAwait(false);
                    hostKeys = FirstBootScript.ParseFingerprints(listed.Value);
                    if (hostKeys.Count == 0)
                        throw console.Failure("HostKeysNotFound", FailureKind.InvalidResult, "The guest printed no SSH host key fingerprints.",
                            "Check that sshd was enabled in the install (see the transcript).");
                    await console.SendLineAsync("exit", false, cancellationToken).ConfigureAwait(false);
                }
                reporter.Verbose($"Guest host keys (read on the serial console): {string.Join(", ", hostKeys)}");

                reporter.Progress(activity, "Adding packages and configuring over SSH", -1);
                var target = new SshTarget("127.0.0.1", boot.SshPort, "root", machine.RootKeyFile, HostKeyPolicy.Pinned(hostKeys));
                string output;
                using (var ssh = await SshShell.ConnectAsync(target, cancellationToken, machine.Host.JumpShell).ConfigureAwait(false))
                {
                    await StageFilesAsync(ssh, request, reporter, cancellationToken).ConfigureAwait(false);
                    var text = new StringBuilder();
                    var errors = new StringBuilder();
                    int exit = await ssh.StreamAsync("sh -s", new ShellScript(FirstBootScript.Render(request, packagePath)),
                        line => { lock (text) text.AppendLine(line); reporter.Information(line, "firstboot"); },
                        line => { lock (errors) errors.AppendLine(line); reporter.Information(line, "firstboot", "stderr"); },
                        cancellationToken).ConfigureAwait(false);
                    if (exit != 0)
                        throw new OpenBsdBuildException("FirstBootFailed", FailureKind.InvalidResult,
                            $"The first-boot setup failed with exit code {exit}: {errors.ToString().Trim()}", null,
                            "Read the output above (tagged 'firstboot'); a missing package or an unreachable -PackagePath is the usual cause.");
                    output = text.ToString();
                    await ssh.RunAsync("halt -p", CancellationToken.None).ConfigureAwait(false);
                }
                await boot.WaitForExitAsync(TimeSpan.FromMinutes(5), cancellationToken).ConfigureAwait(false);
                return new FirstBootReport(FirstBootScript.ParsePackages(output), hostKeys);
            }
            finally
            {
                reporter.ProgressDone(activity);
                await boot.DestroyAsync().ConfigureAwait(false);
            }
        }

        /// <summary>What the first-boot script installs, uploaded over the pinned SSH session: the -Kernel file and the EC2 agent.</summary>
        private static async Task StageFilesAsync(SshShell ssh, ImageBuildRequest request, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var kernel = request.InspectKernel();
            if (kernel != null)
            {
                const string activity = "Uploading the kernel";
                try
                {
                    using var source = File.OpenRead(kernel.Path);
                    await ssh.UploadAsync(source, FirstBootScript.StagedKernel, done => reporter.Progress(activity,
                        $"{Path.GetFileName(kernel.Path)}: {done / 1e6:F1} of {kernel.Size / 1e6:F1} MB", kernel.Size > 0 ? (int)(done * 100 / kernel.Size) : -1),
                        cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    reporter.ProgressDone(activity);
                }
                reporter.Verbose($"Uploaded {kernel.Path} (SHA-256 {kernel.Sha256}) to {FirstBootScript.StagedKernel}; the first-boot script installs it as /bsd.");
            }
            if (request.Target == ImageTargets.Ec2)
            {
                using var agent = new MemoryStream(Encoding.UTF8.GetBytes(Ec2Agent.Render(request.BuildUser)));
                await ssh.UploadAsync(agent, FirstBootScript.StagedAgent, null, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>
        /// Reads the console until QEMU closes it (the guest powered off or rebooted under -no-reboot). A guest
        /// that halted without powering down waits for a key (arm64 machdep.c boot()); it gets one, and resets.
        /// </summary>
        internal static async Task WaitForPowerOffAsync(SerialConsole console, TimeSpan timeout, string what, CancellationToken cancellationToken)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                while (true)
                {
                    var left = timeout - clock.Elapsed;
                    var seen = await console.WaitForAsync(AutoinstallFailedOrHalted, left > TimeSpan.Zero ? left : TimeSpan.Zero, what, cancellationToken).ConfigureAwait(false);
                    if (seen.Value.StartsWith(HaltedText, StringComparison.Ordinal))
                    {
                        await console.SendLineAsync("", false, cancellationToken).ConfigureAwait(false);
                        continue;
                    }
                    throw console.Failure("InstallFailed", FailureKind.InvalidResult, $"The installer reported: {seen.Value}",
                        "Read the transcript; check -Sets, -DiskSize and the install media.");
                }
            }
            catch (OpenBsdBuildException ex) when (ex.ErrorId == "ConsoleClosed")
            {
                // The expected end: the guest went down and QEMU closed the console.
            }
        }

        private sealed class FirstBootReport
        {
            public FirstBootReport(List<PackageVersion> packages, List<string> hostKeys)
            {
                Packages = packages;
                HostKeys = hostKeys;
            }

            public List<PackageVersion> Packages { get; }
            public List<string> HostKeys { get; }
        }
    }
}
