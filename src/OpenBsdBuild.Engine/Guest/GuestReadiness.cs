using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Guest
{
    /// <summary>
    /// Waits until a booting guest's SSH server sends its banner. QEMU's user networking accepts
    /// a forwarded connection before the guest can, so "port open" means nothing; only the
    /// "SSH-" identification line does. Probes overlap, so a probe stuck on a guest that is
    /// still booting never delays noticing the moment sshd starts.
    /// </summary>
    internal static class GuestReadiness
    {
        private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(50);
        private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);
        private static readonly TimeSpan LivenessInterval = TimeSpan.FromSeconds(2);
        private const int MaxProbesInFlight = 4;

        /// <summary>
        /// Waits for the banner; the host's link is the caller's to watch (<see cref="LinkWatch"/>): every host command here
        /// uses <paramref name="cancellationToken"/>. <paramref name="step"/> hears when the wait turns into reading the console.
        /// </summary>
        public static async Task WaitForSshAsync(OpenBsdGuest guest, TimeSpan timeout, Action<string> step, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var host = guest.Host;
            var clock = Stopwatch.StartNew();
            using var polling = OperationTrace.Polling();
            using var tunnel = await host.Shell.OpenTunnelAsync("127.0.0.1", guest.SshPort, cancellationToken).ConfigureAwait(false);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var ready = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var probes = new List<Task>();
            var lastLiveness = -LivenessInterval;
            try
            {
                while (!ready.Task.IsCompleted)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (clock.Elapsed > timeout)
                    {
                        step($"reading its serial console (it had not answered on SSH within {timeout.TotalSeconds:0} s)");
                        string tail = await GuestControl.SerialTailAsync(guest, 20, cancellationToken).ConfigureAwait(false);
                        throw new OpenBsdBuildException("GuestNotReady", FailureKind.OperationTimeout,
                            $"Guest {guest.Name} did not answer on SSH within {timeout.TotalSeconds:0} s. Last serial console lines:\n{tail}",
                            guest.Name,
                            "Read the console lines above. A first boot under emulation (no KVM) can be slow: raise -BootTimeout; otherwise check that the image starts sshd and uses DHCP on its virtio NIC.");
                    }
                    if (clock.Elapsed - lastLiveness >= LivenessInterval)
                    {
                        lastLiveness = clock.Elapsed;
                        await CheckAliveAsync(guest, clock.Elapsed, reporter, cancellationToken).ConfigureAwait(false);
                    }
                    probes.RemoveAll(p => p.IsCompleted);
                    if (probes.Count < MaxProbesInFlight)
                        probes.Add(ProbeAsync(tunnel.Host, tunnel.Port, ready, done.Token));
                    await Task.WhenAny(ready.Task, Task.Delay(ProbeInterval, cancellationToken)).ConfigureAwait(false);
                }
            }
            finally
            {
                done.Cancel();
                try { await Task.WhenAll(probes).ConfigureAwait(false); } catch (OperationCanceledException) { }
            }
        }

        private static async Task CheckAliveAsync(OpenBsdGuest guest, TimeSpan elapsed, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string dir = ShellQuote.Quote(guest.StateDirectory);
            ShellResult r = await guest.Host.Shell.RunAsync(
                $"kill -0 {guest.ProcessId} 2>/dev/null && echo alive; tail -n 1 {dir}/serial.log 2>/dev/null | tr -d '\\r' | cut -c1-120", cancellationToken).ConfigureAwait(false);
            var lines = r.Stdout.Split('\n');
            if (lines[0].Trim() != "alive")
            {
                string tail = await GuestControl.SerialTailAsync(guest, 20, cancellationToken).ConfigureAwait(false);
                throw new OpenBsdBuildException("GuestDied", FailureKind.InvalidOperation,
                    $"QEMU for guest {guest.Name} exited while the guest was booting. Last serial console lines:\n{tail}",
                    guest.Name, "Read the console lines above; check the image and the host's free memory.");
            }
            string last = lines.Length > 1 ? lines[1].Trim() : "";
            reporter.Progress(GuestLauncher.BootActivity(guest), $"Booting ({elapsed.TotalSeconds:0} s){(last.Length > 0 ? ": " + last : "")}", -1);
        }

        private static async Task ProbeAsync(string host, int port, TaskCompletionSource<bool> ready, CancellationToken cancellationToken)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            using var client = new TcpClient();
            using (timeout.Token.Register(() => client.Dispose()))
            {
                try
                {
                    await client.ConnectAsync(host, port).ConfigureAwait(false);
                    var stream = client.GetStream();
                    var buffer = new byte[256];
                    var seen = new StringBuilder();
                    int read;
                    while ((read = await stream.ReadAsync(buffer, 0, buffer.Length, timeout.Token).ConfigureAwait(false)) > 0)
                    {
                        seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
                        string[] lines = seen.ToString().Split('\n');
                        if (lines.Take(lines.Length - 1).Any(l => l.StartsWith("SSH-", StringComparison.Ordinal)))
                        {
                            ready.TrySetResult(true);
                            return;
                        }
                        if (seen.Length > 4096) return;
                    }
                }
                catch (Exception ex) when (ex is SocketException || ex is ObjectDisposedException || ex is OperationCanceledException ||
                                           ex is System.IO.IOException || ex is InvalidOperationException)
                {
                    // Not up yet; the next probe will tell.
                }
            }
        }
    }
}
