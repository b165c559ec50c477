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
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// New-OpenBsdImage from start to end: verify the media (before anything boots), install
    /// (autoinstall with a response file served on the host's loopback, or the interactive
    /// conversation), first boot (host keys read on the serial console, then everything else over
    /// SSH pinned to them), and finish (compressed qcow2, SHA-256, sidecar). Whatever fails, QEMU
    /// and the work files on the host are removed.
    /// </summary>
    public static class ImageBuilder
    {
        private static readonly Regex FirstPrompt = new Regex(@"\(I\)nstall, \(U\)pgrade, \(A\)utoinstall or \(S\)hell\? ?$", RegexOptions.Multiline);
        private static readonly Regex ResponseFilePrompt = new Regex(@"Response file location\?[^\n]*$", RegexOptions.Multiline);
        // autoinstall(8) exits with this when the response file lacks an answer the installer needs.
        private static readonly Regex AutoinstallFailed = new Regex(@"Question has no answer in response file|failed; check /tmp/i/|Cannot fetch", RegexOptions.Multiline);
        private static readonly Regex LoginPrompt = new Regex(@"login: $", RegexOptions.Multiline);
        private static readonly Regex PasswordPrompt = new Regex(@"Password:\s*$", RegexOptions.Multiline);
        private static readonly Regex ShellPrompt = new Regex(@"# $", RegexOptions.Multiline);

        public static async Task<OpenBsdImage> BuildAsync(MetalHost host, ImageBuildRequest request, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            request.Validate();
            // A local package directory would need the host's HTTP server in every case; mirrors are what pkg_add expects.
            if (request.Packages.Count > 0) await CheckPackagePathAsync(request, reporter, cancellationToken).ConfigureAwait(false);
            if (!host.Shell.IsLocal)
                throw new OpenBsdBuildException("ImageBuildNeedsLocalHost", FailureKind.NotImplemented,
                    $"New-OpenBsdImage runs its install on this machine's QEMU only; {host.Name} is remote.", host.Name,
                    "Use Connect-MetalHost -Local | New-OpenBsdImage ...; building on a remote or EC2 host is not implemented yet.");

            string work = Path.Combine(host.StateDirectory, "image-builds", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") + "-" + Guid.NewGuid().ToString("N").Substring(0, 6));
            Directory.CreateDirectory(work);
            try
            {
                var media = await InstallMediaSource.PrepareAsync(request, Path.Combine(work, "media"), reporter, cancellationToken).ConfigureAwait(false);
                var machine = await BuildMachine.PrepareAsync(host, request, work, reporter, cancellationToken).ConfigureAwait(false);
                await InstallAsync(machine, request, media, reporter, cancellationToken).ConfigureAwait(false);
                var report = await FirstBootAsync(machine, request, reporter, cancellationToken).ConfigureAwait(false);

                var metadata = new ImageMetadata
                {
                    Name = Path.GetFileNameWithoutExtension(request.Output),
                    Version = request.Version,
                    Architecture = request.Architecture,
                    Sets = request.Sets.ToList(),
                    Packages = report.Packages,
                    BuildUser = request.BuildUser,
                    HostKeyFingerprints = report.HostKeys,
                    DiskSize = request.DiskSize,
                    RelinkDisabled = request.SkipRelink,
                    Created = DateTime.UtcNow,
                };
                return await ImageFinisher.FinishAsync(host, machine.DiskPath, request.Output, metadata, reporter, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                try { Directory.Delete(work, recursive: true); } catch (IOException) { }
            }
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
                using var response = await http.GetAsync(url + "index.txt", HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                status = response.StatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
            {
                problem = ex.Message;
            }
            if (status == HttpStatusCode.OK) return;
            throw new OpenBsdBuildException("PackagePathUnreachable", FailureKind.ConnectionError,
                $"The package path {url} cannot be used: {problem ?? $"index.txt answered {(int)status!.Value} {status}"}.", url,
                "Pass -PackagePath with a package directory of this release and architecture (it holds index.txt), or check the network.");
        }

        private static async Task InstallAsync(BuildMachine machine, ImageBuildRequest request, VerifiedInstallMedia media, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            const string activity = "Installing OpenBSD";
            using var server = ResponseServer.Start(reporter);
            var options = request.ToInstallOptions(machine.RootPassword, machine.RootPublicKey, server.Url("disklabel"));
            server.Add("install.conf", ResponseFile.Build(options).ToText());
            server.Add("disklabel", options.DiskLayout!.ToText());

            var boot = await machine.LaunchAsync("install", media.Path, reporter, cancellationToken).ConfigureAwait(false);
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
                    // The guest's 10.0.2.2 is the host's loopback (FACTS §3), where the response file is served.
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

        private static async Task<FirstBootReport> FirstBootAsync(BuildMachine machine, ImageBuildRequest request, IOperationReporter reporter,
            CancellationToken cancellationToken)
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
                    await console.SendLineAsync(FirstBootScript.FingerprintCommand, false, cancellationToken).ConfigureAwait(false);
                    var listed = await console.WaitForAsync(new Regex(@"(?s)@@obb-hostkeys@@\r?\n(.*?)@@obb-hostkeys@@"), TimeSpan.FromMinutes(1),
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
                using (var ssh = await SshShell.ConnectAsync(target, cancellationToken).ConfigureAwait(false))
                {
                    var text = new StringBuilder();
                    var errors = new StringBuilder();
                    int exit = await ssh.StreamAsync("sh -s", new ShellScript(FirstBootScript.Render(request)),
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

        /// <summary>Reads the console until QEMU closes it (the guest powered off or rebooted under -no-reboot).</summary>
        private static async Task WaitForPowerOffAsync(SerialConsole console, TimeSpan timeout, string what, CancellationToken cancellationToken)
        {
            try
            {
                var failed = await console.WaitForAsync(AutoinstallFailed, timeout, what, cancellationToken).ConfigureAwait(false);
                throw console.Failure("InstallFailed", FailureKind.InvalidResult, $"The installer reported: {failed.Value}",
                    "Read the transcript; check -Sets, -DiskSize and the install media.");
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
