using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Builds
{
    /// <summary>A build that failed; the error still carries the full result (diagnosis, last lines, log).</summary>
    public sealed class BuildFailedException : OpenBsdBuildException
    {
        public BuildFailedException(string errorId, FailureKind kind, string message, GuestBuildResult result, string recommendedAction, Exception? inner = null)
            : base(errorId, kind, message, result, recommendedAction, inner) => Result = result;

        /// <summary>A failure before or after the command ran (preflight, upload, download): the original error, carrying the result so far.</summary>
        internal BuildFailedException(OpenBsdBuildException failure, GuestBuildResult result)
            : base(failure.ErrorId, failure.Kind, failure.Message, failure.Target ?? result, failure.RecommendedAction, failure) => Result = result;

        public GuestBuildResult Result { get; }
    }

    /// <summary>Sources in, command run with live output, artifacts out: one build in one guest.</summary>
    public static class BuildRunner
    {
        private const int TailLines = 20;

        public static async Task<GuestBuildResult> RunAsync(OpenBsdGuest guest, BuildSpec spec, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            IHostShell session = guest.Shell ?? throw new OpenBsdBuildException("GuestNotConnected", FailureKind.InvalidOperation,
                $"Guest {guest.Name} has no open SSH session (it was stopped, or it was listed from another session).", guest.Name,
                "Start a new guest with Start-OpenBsdGuest and pipe it to Invoke-GuestBuild.");
            // A user may have typed a secret's value into -Command too: -Verbose shows *** wherever it appears.
            using var masking = OperationTrace.Masking(spec.Secrets.Values);
            var build = new BuildState(new GuestBuildResult { Guest = guest, Command = spec.Command, StartedAt = DateTime.UtcNow });
            // A TCP connection whose path died stays "open" for many minutes, in every phase (preflight,
            // upload, run, download): a trivial command every few seconds notices, and the phase's wait is cancelled.
            using var linkLost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var watchdog = new ConnectionWatchdog(session, linkLost, LinkWatch.Interval, LinkWatch.AnswerTimeout);
            build.LinkLost = () => watchdog.Lost;
            IHostShell? other = null;
            try
            {
                if (spec.User != null && spec.User != guest.User)
                    other = await ConnectAsUserAsync(guest, spec.User, reporter, linkLost.Token).ConfigureAwait(false);
                var work = RunInSessionAsync(guest, other ?? session, spec, build, reporter, linkLost.Token);
                // A phase stuck writing into the dead connection never sees the cancel: stop waiting for it.
                if (await Task.WhenAny(work, watchdog.LostSignal).ConfigureAwait(false) != work)
                {
                    _ = work.ContinueWith(t => t.Exception, TaskScheduler.Default); // ends when TCP gives up; observed then
                    throw await LostAsync(guest, build, null).ConfigureAwait(false);
                }
                return await work.ConfigureAwait(false);
            }
            catch (Exception ex) when (watchdog.Lost && !cancellationToken.IsCancellationRequested && !(ex is BuildFailedException { ErrorId: "GuestLost" } || ex is BuildFailedException { ErrorId: "GuestDied" }))
            {
                throw await LostAsync(guest, build, ex as OpenBsdBuildException).ConfigureAwait(false);
            }
            catch (OpenBsdBuildException ex) when (ex.ErrorId == "ConnectionLost")
            {
                throw await LostAsync(guest, build, ex).ConfigureAwait(false);
            }
            catch (OpenBsdBuildException ex) when (!(ex is BuildFailedException))
            {
                // The result goes downstream with the error (a Remove-MetalHost at the end still gets the host).
                build.Result.Succeeded = false;
                build.Result.Diagnosis ??= ex.Message;
                throw new BuildFailedException(ex, build.Result);
            }
            finally
            {
                other?.Dispose();
            }
        }

        /// <summary>What a build has got to, for the error when its link is lost midway.</summary>
        private sealed class BuildState
        {
            public BuildState(GuestBuildResult result) => Result = result;
            public GuestBuildResult Result { get; }
            public string Phase { get; set; } = "connection";
            public Queue<string> Tail { get; } = new Queue<string>();
            /// <summary>Runs from the start of the build command.</summary>
            public Stopwatch Clock { get; } = new Stopwatch();
            public Func<bool> LinkLost { get; set; } = () => false;
        }

        /// <summary>A second session to the same guest as another user, with the same key and the same pinned host key.</summary>
        private static async Task<IHostShell> ConnectAsUserAsync(OpenBsdGuest guest, string user, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var (address, port, via) = guest.SshEndpoint;
            var target = new SshTarget(address, port, user, guest.KeyFile!, HostKeyPolicy.Pinned(new[] { guest.HostKeyFingerprint! })) { Name = guest.Name };
            return await SshShell.ConnectAsync(target, cancellationToken, via).ConfigureAwait(false);
        }

        private static async Task<GuestBuildResult> RunInSessionAsync(OpenBsdGuest guest, IHostShell shell, BuildSpec spec, BuildState build, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var result = build.Result;
            string activity = $"Building on {guest.Name}";

            build.Phase = "preflight";
            result.WorkingDirectory = await CreateWorkingDirectoryAsync(shell, guest.Name, spec.WorkingDirectory, reporter, cancellationToken).ConfigureAwait(false);
            reporter.Verbose($"Working directory in {guest.Name}: {result.WorkingDirectory}");
            var preflight = await Preflight.CheckAsync(shell, result.WorkingDirectory, spec, reporter, cancellationToken).ConfigureAwait(false);
            build.Phase = "upload of the sources";
            if (spec.SourcePath != null)
                await SourceUpload.SendAsync(shell, guest.Name, spec, result.WorkingDirectory, reporter, cancellationToken).ConfigureAwait(false);
            else if (spec.ArchivePath != null)
                await UploadArchiveAsync(shell, guest.Name, spec.ArchivePath, result.WorkingDirectory, reporter, cancellationToken).ConfigureAwait(false);
            else if (spec.GitUrl != null)
                await CloneAsync(shell, guest.Name, spec, result.WorkingDirectory, reporter, cancellationToken).ConfigureAwait(false);

            Directory.CreateDirectory(spec.Destination);
            result.LogPath = Path.GetFullPath(spec.LogPath ?? Path.Combine(spec.Destination, "build.log"));
            var diagnosis = new FailureDiagnosis();
            var tail = build.Tail;
            var clock = build.Clock;
            build.Phase = "build";
            clock.Start();
            var masker = new SecretMasker(spec.Secrets.Values);
            string pidFile = result.WorkingDirectory.TrimEnd('/') + ".pid";
            bool timedOut = false;

            using (var log = new StreamWriter(result.LogPath, append: false, new UTF8Encoding(false)) { AutoFlush = true })
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                if (spec.Timeout.HasValue) timeout.CancelAfter(spec.Timeout.Value);
                long lastProgress = 0;
                void OnLine(string raw, string stream)
                {
                    string line = masker.Mask(raw);
                    lock (tail)
                    {
                        log.WriteLine(line);
                        tail.Enqueue(line);
                        if (tail.Count > TailLines) tail.Dequeue();
                    }
                    diagnosis.Observe(line);
                    reporter.Information(line, stream, guest.Name);
                    reporter.Verbose($"[{clock.Elapsed:hh\\:mm\\:ss\\.fff}] {stream}: {line}");
                    long now = clock.ElapsedMilliseconds;
                    if (now - Interlocked.Read(ref lastProgress) >= 250)
                    {
                        Interlocked.Exchange(ref lastProgress, now);
                        reporter.Progress(activity, $"{clock.Elapsed:hh\\:mm\\:ss} {Shorten(line)}");
                    }
                }

                reporter.Progress(activity, "Running " + Shorten(masker.Mask(spec.Command)));
                try
                {
                    using var secrets = new MemoryStream(Encoding.UTF8.GetBytes(string.Concat(spec.Secrets.Values.Select(v => v + "\n"))));
                    result.ExitCode = await shell.StreamAsync(RunScript(spec, result.WorkingDirectory, pidFile, preflight), secrets,
                        l => OnLine(l, "stdout"), l => OnLine(l, "stderr"), timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (build.LinkLost())
                {
                    throw; // the caller says the guest was lost; killing the build over the dead link would only wait
                }
                catch (OperationCanceledException)
                {
                    timedOut = !cancellationToken.IsCancellationRequested;
                    // Ctrl+C or timeout: the remote build must not outlive us.
                    await KillAsync(shell, pidFile).ConfigureAwait(false);
                    if (!timedOut) throw;
                }
                finally
                {
                    reporter.ProgressDone(activity);
                }
            }

            result.Duration = clock.Elapsed;
            result.LastLines = tail.ToList();
            if (timedOut)
            {
                result.Diagnosis = $"The build ran longer than the {Format(spec.Timeout!.Value)} timeout and was killed (its whole process group).";
                throw new BuildFailedException("BuildTimedOut", FailureKind.OperationTimeout, result.Diagnosis + LastLinesText(result), result,
                    "Raise -Timeout if the build is just slow.");
            }
            if (result.ExitCode != 0)
            {
                result.Diagnosis = await DiagnoseAsync(shell, result, diagnosis, cancellationToken).ConfigureAwait(false);
                throw new BuildFailedException("BuildFailed", FailureKind.InvalidResult, result.Diagnosis + LastLinesText(result), result,
                    $"The full log is in {result.LogPath}.");
            }

            result.Succeeded = true;
            build.Phase = "download of the artifacts";
            result.Artifacts = await ArtifactCollector.CollectAsync(shell, guest.Name, result.WorkingDirectory, spec.Artifacts, spec.Destination,
                reporter, cancellationToken).ConfigureAwait(false);
            return result;
        }

        /// <summary>How long the host gets to say what became of a lost guest when its own link may be the one that died.</summary>
        private static readonly TimeSpan LostGuestQuestionTimeout = TimeSpan.FromSeconds(5);

        private static async Task<BuildFailedException> LostAsync(OpenBsdGuest guest, BuildState build, Exception? inner)
        {
            var result = build.Result;
            result.Succeeded = false;
            result.Duration = build.Clock.Elapsed;
            lock (build.Tail) result.LastLines = build.Tail.ToList();
            bool? qemuRuns = null;
            string serial = "";
            // A guest connection that was closed (QEMU gone, so its forward ended) rather than gone silent came
            // through a working host: the host answers, on a busy one slowly, and its answer tells GuestDied
            // from GuestLost. Only silence means its link may be dead too, and then the question is kept short.
            bool Closed() => guest.Shell is SshShell shell && !shell.IsConnected;
            Task<(bool?, string)> AskHostAsync(TimeSpan bound) =>
                // Bounded by a timer, not only the token: the guest's upload may have filled the host connection too.
                LinkWatch.WithinAsync(async ask =>
                {
                    bool? runs = null;
                    if (guest.ProcessId.HasValue)
                        runs = (await guest.Host.Shell.RunAsync(
                            // A killed QEMU may linger as a zombie where nothing reaps it (containers): kill -0 would still succeed.
                            $"ps -o stat= -p {guest.ProcessId} 2>/dev/null | grep -qv Z && echo running", ask).ConfigureAwait(false)).Stdout.Trim() == "running";
                    // An instance's console is EC2's, not a file on a host.
                    string tail = guest is OpenBsdInstance ? "" : await GuestControl.SerialTailAsync(guest, 20, ask).ConfigureAwait(false);
                    return (runs, tail);
                }, bound, CancellationToken.None);
            bool closed = Closed();
            try { (qemuRuns, serial) = await AskHostAsync(closed ? GuestControl.HostAnswerTimeout : LostGuestQuestionTimeout).ConfigureAwait(false); }
            catch (Exception) when (!closed && Closed())
            {
                // The close arrived while the host was asked (on a loaded machine it trails the loss by seconds): the
                // host is there after all, so its answer is worth the longer wait.
                try { (qemuRuns, serial) = await AskHostAsync(GuestControl.HostAnswerTimeout).ConfigureAwait(false); }
                catch (Exception) { /* the host does not answer either */ }
            }
            catch (Exception) { /* the host does not answer either */ }
            string console = serial.Length > 0 ? $"\nLast serial console lines:\n{serial}" : "";
            if (qemuRuns == false)
            {
                result.Diagnosis = $"QEMU for guest {guest.Name} exited during the build (killed, or out of memory on {guest.Host.Name}).";
                return new BuildFailedException("GuestDied", FailureKind.InvalidOperation, result.Diagnosis + LastLinesText(result) + console, result,
                    $"Read the serial console lines above; check {guest.Host.Name}'s free memory (dmesg there names the OOM killer).", inner);
            }
            result.Diagnosis = $"The connection to guest {guest.Name} was lost during the {build.Phase} (the guest, its host or the network went away); " +
                               (qemuRuns == true ? $"its QEMU still runs on {guest.Host.Name}, so the build may still run there." : $"{guest.Host.Name} did not answer either, so whether the build still runs is unknown.");
            return new BuildFailedException("GuestLost", FailureKind.ConnectionError, result.Diagnosis + LastLinesText(result) + console, result,
                "Check that the host and guest are still running (Get-OpenBsdGuest); the guest's serial log is on the host.", inner);
        }

        /// <summary>Where builds run unless -WorkingDirectory says otherwise; New-OpenBsdImage's first boot makes it (Images/FirstBootScript.cs).</summary>
        public const string WorkRoot = "/usr/obj/openbsdbuild";

        private const string HomeFallbackMarker = "@@obb-home-fallback@@";

        /// <summary>
        /// -WorkingDirectory as given; else a fresh folder under the build user's directory on /usr/obj, which
        /// New-OpenBsdImage makes (a fresh install leaves /usr/obj writable by root only). Where the user
        /// cannot write there, ~/openbsdbuild, with a warning: /home is much smaller in OpenBSD's layouts.
        /// </summary>
        private static async Task<string> CreateWorkingDirectoryAsync(IHostShell shell, string guestName, string? requested, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            string id = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss") + "-" + Guid.NewGuid().ToString("N").Substring(0, 4);
            string root = WorkRoot;
            string script = ShellTemplate.Load("make-work-dir.sh").Render(new ShellInputs()
                .Set("OBB_REQUESTED", requested ?? "").Set("OBB_WORK_ROOT", root).Set("OBB_RUN_ID", id));
            ShellResult r = await shell.RunAsync(script, cancellationToken).ConfigureAwait(false);
            if (!r.Succeeded)
                throw new OpenBsdBuildException("WorkingDirectoryUnavailable", FailureKind.PermissionDenied,
                    $"Could not create the working directory {requested ?? root + "/" + id} in the guest: {r.Message}",
                    requested, "Pass a -WorkingDirectory the build user can write to.");
            var lines = r.Stdout.Split(new[] { '\n' }, StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToList();
            string directory = lines.LastOrDefault() ?? "";
            if (lines.Contains(HomeFallbackMarker))
                reporter.Warning($"The build user cannot write to {root} in {guestName}, so the build runs in {directory}, on the home filesystem, " +
                                 "which OpenBSD's disk layouts keep small: big builds run out of space there (the free-space check may refuse this one). " +
                                 $"Images made by New-OpenBsdImage have {root}; in others run as root: mkdir {root} && chown <build user> {root}, or pass -WorkingDirectory.");
            return directory;
        }

        private static async Task UploadArchiveAsync(IHostShell shell, string guestName, string archive, string workingDirectory,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string activity = $"Sending {Path.GetFileName(archive)} to {guestName}";
            long total = new FileInfo(archive).Length;
            var stderr = new StringBuilder();
            int code;
            using (var file = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            using (var counting = new ProgressReadStream(file, done => reporter.Progress(activity, $"{done >> 20} of {total >> 20} MB", total == 0 ? 100 : (int)(done * 100 / total))))
            {
                try
                {
                    code = await shell.StreamAsync($"cd {ShellQuote.Quote(workingDirectory)} && gzip -dc | tar xf -", counting, null,
                        l => stderr.AppendLine(l), cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    reporter.ProgressDone(activity);
                }
            }
            if (code != 0)
                throw new OpenBsdBuildException("SourceUploadFailed", FailureKind.WriteError,
                    $"Unpacking {archive} in {guestName}:{workingDirectory} failed: {stderr.ToString().Trim()}", archive,
                    "Check that the archive is a tar.gz and that the guest has room for it.");
        }

        private static async Task CloneAsync(IHostShell shell, string guestName, BuildSpec spec, string workingDirectory,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string wd = ShellQuote.Quote(workingDirectory);
            // A shallow clone of the ref when it is a branch or tag; a full clone and checkout when it is a commit.
            string script = spec.GitRef == null
                ? $"git clone --depth 1 -q {ShellQuote.Quote(spec.GitUrl!)} {wd}"
                : $"git clone --depth 1 -q --branch {ShellQuote.Quote(spec.GitRef)} {ShellQuote.Quote(spec.GitUrl!)} {wd} 2>/dev/null || " +
                  $"{{ rm -rf {wd} && git clone -q {ShellQuote.Quote(spec.GitUrl!)} {wd} && cd {wd} && git checkout -q {ShellQuote.Quote(spec.GitRef)}; }}";
            reporter.Progress($"Cloning in {guestName}", spec.GitUrl!);
            ShellResult r = await shell.RunAsync($"command -v git >/dev/null || {{ echo 'git is not installed in the guest' >&2; exit 127; }}; rmdir {wd} 2>/dev/null; {script}",
                cancellationToken).ConfigureAwait(false);
            reporter.ProgressDone($"Cloning in {guestName}");
            if (!r.Succeeded)
                throw new OpenBsdBuildException("GitCloneFailed", r.ExitCode == 127 ? FailureKind.NotInstalled : FailureKind.ReadError,
                    $"The guest could not clone {spec.GitUrl}{(spec.GitRef == null ? "" : " at " + spec.GitRef)}: {r.Message}", spec.GitUrl,
                    r.ExitCode == 127 ? "Add git to the image (pkg_add git)." : "Check the URL and -Ref, and that the guest can reach the repository.");
        }

        /// <summary>
        /// Build/run-build.sh: the command in a process group of its own, whose id is written beside the
        /// working directory, so a timeout or Ctrl+C can kill the whole tree (Build/kill-build.sh). Secrets
        /// arrive on stdin, one per line, never on a command line where ps would show them.
        /// </summary>
        internal static string RunScript(BuildSpec spec, string workingDirectory, string pidFile, Preflight.Findings? preflight = null) =>
            ShellTemplate.Load("run-build.sh").Render(new ShellInputs()
                .Set("OBB_WORK_DIR", workingDirectory)
                .Set("OBB_PID_FILE", pidFile)
                .Set("OBB_RAISE_DATA_SIZE", preflight?.RaiseDataSize == true)
                .Set("OBB_TMPDIR", preflight?.TmpDir ?? "")
                .SetNames("OBB_SECRET_NAMES", spec.Secrets.Keys)
                .Set("OBB_COMMAND", spec.Command)
                .SetExports("OBB_ENVIRONMENT", new Dictionary<string, string>(spec.Environment)));

        internal static async Task KillAsync(IHostShell shell, string pidFile)
        {
            try
            {
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await shell.RunAsync(ShellTemplate.Load("kill-build.sh").Render(new ShellInputs().Set("OBB_PID_FILE", pidFile)), limit.Token).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The guest is unreachable: nothing of ours can still be running there that we could stop.
            }
        }

        private static async Task<string> DiagnoseAsync(IHostShell shell, GuestBuildResult result, FailureDiagnosis diagnosis, CancellationToken cancellationToken)
        {
            string exit = $"The build command exited with code {result.ExitCode}";
            switch (diagnosis.Cause)
            {
                case FailureCause.DiskFull:
                    ShellResult df = await shell.RunAsync($"df -kP {ShellQuote.Quote(result.WorkingDirectory)} /tmp 2>/dev/null", cancellationToken).ConfigureAwait(false);
                    string? full = FailureDiagnosis.FullMount(df.Stdout);
                    return full != null
                        ? $"The file system {full} is full: the build failed writing to it (\"{diagnosis.Evidence}\"). {exit}. Free space there or build under a roomier mount (-WorkingDirectory; set TMPDIR for compilers)."
                        : $"The build reported a full disk (\"{diagnosis.Evidence}\"), though no mount is full now (temporary files may have been removed). {exit}.";
                case FailureCause.MemoryLimit:
                    return $"The build ran out of memory or hit the data-size limit (\"{diagnosis.Evidence}\"). {exit}. On OpenBSD the login class caps it (ulimit -d): use a user in the 'staff' class or raise datasize in login.conf.";
                case FailureCause.CommandNotFound:
                    return $"A command was not found in the guest (\"{diagnosis.Evidence}\"). {exit}. Install it in the image (pkg_add) or fix the PATH.";
            }
            if (FailureDiagnosis.KilledBySignal9(result.ExitCode))
                return $"The build was killed by SIGKILL (exit code 137), usually the kernel running out of memory. Give the guest more -Memory.";
            return exit + ".";
        }

        private static string LastLinesText(GuestBuildResult result) =>
            result.LastLines.Count == 0 ? "" : "\nLast lines of output:\n" + string.Join("\n", result.LastLines.Skip(Math.Max(0, result.LastLines.Count - 10)));

        private static string Shorten(string line) => line.Length <= 100 ? line : line.Substring(0, 97) + "...";

        private static string Format(TimeSpan t) => t.TotalHours >= 1 ? $"{t.TotalHours:0.#} h" : t.TotalMinutes >= 1 ? $"{t.TotalMinutes:0.#} min" : $"{t.TotalSeconds:0} s";
    }
}
