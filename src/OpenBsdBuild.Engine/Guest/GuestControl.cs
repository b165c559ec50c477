using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Guest
{
    /// <summary>Power-off, kill and clean-up of guests, and reading their serial console.</summary>
    public static class GuestControl
    {
        /// <summary>How a stop ended.</summary>
        public enum StopOutcome { PoweredOff, Killed, NotRunning }

        /// <summary>
        /// ACPI power-down through QMP, then SIGTERM/SIGKILL once <paramref name="gracePeriod"/> has
        /// passed; then the guest's overlay, vars, log and sockets are deleted. Runs as one script on
        /// the host, so a slow link costs one round trip.
        /// </summary>
        public static async Task<StopOutcome> StopAsync(OpenBsdGuest guest, TimeSpan gracePeriod, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            guest.Shell?.Dispose();
            guest.Shell = null;
            reporter.Verbose($"Stopping guest {guest.Name} on {guest.Host.Name} (grace period {gracePeriod.TotalSeconds:0} s)");
            var outcome = await DestroyAsync(guest.Host, guest, gracePeriod, cancellationToken).ConfigureAwait(false);
            guest.State = GuestState.Stopped;
            guest.Host.RemoveGuest(guest);
            return outcome;
        }

        /// <summary>
        /// Stops several guests at once (each stop is one script on its host, so they overlap);
        /// every guest gets its chance even when another fails.
        /// </summary>
        /// <returns>Each guest with how it ended, or the error that kept it from stopping.</returns>
        public static async Task<IReadOnlyList<(OpenBsdGuest Guest, StopOutcome? Outcome, Exception? Error)>> StopAllAsync(
            IEnumerable<OpenBsdGuest> guests, TimeSpan gracePeriod, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var stops = guests.Select(async g =>
            {
                // A host whose link died silently would hold the stop for TCP's ~15 min: bounded, it is HostLost. This machine
                // has no link to lose, and its stop script ends by itself (the grace period, then a kill): not bounded, so a
                // machine too loaded to run it within the bound still has its guests stopped.
                try
                {
                    var stopped = g.Host.Shell.IsLocal
                        ? await StopAsync(g, gracePeriod, reporter, cancellationToken).ConfigureAwait(false)
                        : await LinkWatch.WithinAsync(c => StopAsync(g, gracePeriod, reporter, c), gracePeriod + HostAnswerTimeout, cancellationToken).ConfigureAwait(false);
                    return (g, (StopOutcome?)stopped, (Exception?)null);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested &&
                                           (ex is OperationCanceledException || ex is OpenBsdBuild.Errors.OpenBsdBuildException { ErrorId: "ConnectionLost" }))
                {
                    string what = ex is OperationCanceledException ? $"did not answer within {(gracePeriod + HostAnswerTimeout).TotalSeconds:0} s" : "dropped the connection";
                    return (g, (StopOutcome?)null, (Exception?)new OpenBsdBuild.Errors.OpenBsdBuildException("HostLost", OpenBsdBuild.Errors.FailureKind.ConnectionError,
                        $"{g.Host.Name} {what} while guest {g.Name} was being stopped; the link to it may be down.", g,
                        $"Once the host answers, stop the guest with: Get-OpenBsdGuest -Name {g.Name} | Stop-OpenBsdGuest (on the host attached again); an EC2 host that is terminated ends its guests with it.", ex));
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested) { return (g, (StopOutcome?)null, (Exception?)ex); }
            }).ToList();
            return await Task.WhenAll(stops).ConfigureAwait(false);
        }

        /// <summary>How long a host gets to answer a stop beyond the grace period: the stop takes seconds, but on a busy host (QEMU under TCG) an SSH round trip through a jump can take tens of them.</summary>
        internal static readonly TimeSpan HostAnswerTimeout = TimeSpan.FromSeconds(90);

        internal static async Task<StopOutcome> DestroyAsync(MetalHost host, OpenBsdGuest guest, TimeSpan gracePeriod, CancellationToken cancellationToken)
        {
            string dir = ShellQuote.Quote(guest.StateDirectory);
            string pid = guest.ProcessId?.ToString() ?? $"$(cat {dir}/qemu.pid 2>/dev/null)";
            int tenths = (int)Math.Ceiling(gracePeriod.TotalMilliseconds / 100);
            bool graceful = tenths > 0 && host.Capabilities.HasPerl;
            // "ours" guards against pid reuse: only signal a process whose command line names this guest's directory.
            string script =
                $"pid={pid}; ours() {{ [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null && ps -p \"$pid\" -o args= 2>/dev/null | grep -qF {dir}; }}; " +
                "if ours; then " +
                (graceful ? $"{QmpCommand(guest.QmpSocketPath, "system_powerdown")} >/dev/null 2>&1; " +
                            $"i=0; while ours && [ $i -lt {tenths} ]; do sleep 0.1; i=$((i+1)); done; " : "") +
                "if ours; then kill -TERM \"$pid\" 2>/dev/null; i=0; while ours && [ $i -lt 20 ]; do sleep 0.1; i=$((i+1)); done; " +
                "ours && kill -KILL \"$pid\" 2>/dev/null; echo killed; else echo powered-off; fi; " +
                "else echo not-running; fi; " +
                $"rm -rf {dir}";
            ShellResult result = await host.Shell.RunAsync(script, cancellationToken).ConfigureAwait(false);
            string said = result.Stdout.Trim();
            return said.StartsWith("powered-off") ? StopOutcome.PoweredOff : said.StartsWith("killed") ? StopOutcome.Killed : StopOutcome.NotRunning;
        }

        /// <summary>The last <paramref name="lines"/> lines the guest printed on its serial console.</summary>
        public static async Task<string> SerialTailAsync(OpenBsdGuest guest, int lines, CancellationToken cancellationToken)
        {
            try
            {
                ShellResult r = await guest.Host.Shell.RunAsync(
                    $"tail -n {lines} {ShellQuote.Quote(guest.SerialLogPath)} 2>/dev/null | tr -d '\\r'", cancellationToken).ConfigureAwait(false);
                string text = r.Stdout.TrimEnd();
                return text.Length == 0 ? "(the guest printed nothing on its serial console)" : text;
            }
            // A lost connection is the host's news, not the console's: the caller's link watch makes it HostLost.
            catch (Exception ex) when (!(ex is OperationCanceledException) && !(ex is OpenBsdBuild.Errors.OpenBsdBuildException { ErrorId: "ConnectionLost" }))
            {
                return $"(serial console unavailable: {ex.Message})";
            }
        }

        /// <summary>
        /// A one-shot QMP exchange over QEMU's unix socket, done by perl on the host: SSH cannot
        /// forward unix sockets with our client library, and perl (IO::Socket::UNIX) is part of
        /// every Debian/Ubuntu base system.
        /// </summary>
        internal static string QmpCommand(string socketPath, string command) =>
            "perl -MIO::Socket::UNIX -e " + ShellQuote.Quote(
                "my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die \"qmp: $!\\n\"; <$s>; " +
                "print $s qq({\"execute\":\"qmp_capabilities\"}\\n); <$s>; " +
                "print $s qq({\"execute\":\"$ARGV[1]\"}\\n); " +
                "while (<$s>) { print; last if /\"return\"|\"error\"/ }") +
            " " + ShellQuote.Quote(socketPath) + " " + command;

        /// <summary>
        /// The guests on a host: the ones this session started (with their SSH sessions) and any
        /// others recorded in its state directory, e.g. left by a session that ended.
        /// </summary>
        public static async Task<IReadOnlyList<OpenBsdGuest>> ListAsync(MetalHost host, CancellationToken cancellationToken)
        {
            var live = host.Guests.ToDictionary(g => g.Name);
            var list = new List<OpenBsdGuest>(live.Values);
            foreach (var (record, running, directory) in await ListRecordsAsync(host, cancellationToken).ConfigureAwait(false))
            {
                if (live.ContainsKey(record.Name)) continue;
                list.Add(new OpenBsdGuest(host, record.Name, directory)
                {
                    State = running ? GuestState.Detached : GuestState.Stopped,
                    Image = record.Image,
                    Architecture = record.Architecture,
                    Accelerator = record.Accelerator,
                    MemoryMB = record.MemoryMB,
                    CpuCount = record.CpuCount,
                    ProcessId = record.Pid,
                    SshPort = record.SshPort,
                    User = record.User,
                    HostKeyFingerprint = record.HostKeyFingerprint,
                    OsVersion = record.OsVersion,
                    StartedAt = record.StartedAt,
                });
            }
            return list.OrderBy(g => g.StartedAt).ToList();
        }

        /// <summary>Guests recorded in a host's state directory, running or not, including ones started by other sessions.</summary>
        internal static async Task<IReadOnlyList<(GuestRecord record, bool running, string directory)>> ListRecordsAsync(MetalHost host, CancellationToken cancellationToken)
        {
            string root = ShellQuote.Quote(host.StateDirectory + "/guests");
            string script =
                $"for d in {root}/*/; do [ -f \"$d/guest.json\" ] || continue; " +
                "p=$(cat \"$d/qemu.pid\" 2>/dev/null); r=no; [ -n \"$p\" ] && kill -0 \"$p\" 2>/dev/null && r=yes; " +
                "echo \"@@ $r $d\"; cat \"$d/guest.json\"; echo; done; true";
            ShellResult result = await host.Shell.RunAsync(script, cancellationToken).ConfigureAwait(false);
            var list = new List<(GuestRecord, bool, string)>();
            foreach (string chunk in result.Stdout.Split(new[] { "@@ " }, StringSplitOptions.RemoveEmptyEntries))
            {
                int newline = chunk.IndexOf('\n');
                if (newline < 0) continue;
                string[] head = chunk.Substring(0, newline).Split(new[] { ' ' }, 2);
                var record = GuestRecord.TryParse(chunk.Substring(newline + 1).Trim());
                if (record != null && head.Length == 2) list.Add((record, head[0] == "yes", head[1].TrimEnd('/')));
            }
            return list;
        }
    }
}
