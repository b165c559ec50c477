using System;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// A quiet command sends nothing, and a TCP connection whose path died stays "open" for many
    /// minutes. So while work runs over a connection, a trivial command is sent every few seconds; when
    /// one gets no answer in time the connection is declared lost and the work's token is cancelled,
    /// instead of hanging. <see cref="LinkWatch"/> is how the engine uses it.
    /// </summary>
    internal sealed class ConnectionWatchdog : IDisposable
    {
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly TaskCompletionSource<bool> _lost = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _loop;

        public ConnectionWatchdog(IHostShell shell, CancellationTokenSource onLost, TimeSpan interval, TimeSpan answerTimeout)
        {
            _loop = Task.Run(async () =>
            {
                using var polling = OperationTrace.Polling();
                while (!_stop.IsCancellationRequested)
                {
                    try { await Task.Delay(interval, _stop.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) { return; }
                    bool answered = await AnswersAsync(shell, answerTimeout, _stop.Token).ConfigureAwait(false);
                    if (_stop.IsCancellationRequested) return;
                    if (answered) continue;
                    Lost = true;
                    _lost.TrySetResult(true);
                    onLost.Cancel();
                    return;
                }
            });
        }

        /// <summary>Time for a cancelled probe to come back before the watchdog stops waiting for it.</summary>
        private static readonly TimeSpan AnswerSlack = TimeSpan.FromSeconds(1);

        /// <summary>Data that moved this recently counts as an answer.</summary>
        private static readonly TimeSpan RecentTraffic = TimeSpan.FromSeconds(5);

        /// <summary>
        /// Whether the machine runs a trivial command within <paramref name="answerTimeout"/>, or, when that goes
        /// unanswered, data still moved through its SSH session in the last <see cref="RecentTraffic"/> (a starved guest
        /// is slow to start a process). False when its connection failed, and once <paramref name="stop"/> is cancelled.
        /// </summary>
        internal static async Task<bool> AnswersAsync(IHostShell shell, TimeSpan answerTimeout, CancellationToken stop)
        {
            using var answer = CancellationTokenSource.CreateLinkedTokenSource(stop);
            answer.CancelAfter(answerTimeout);
            // Raced against a timer, not awaited: while an upload has filled the dead connection's send
            // buffer, even giving up on the probe (closing its channel) blocks inside the SSH library.
            Task probe = Task.Run(() => shell.RunAsync("true", answer.Token));
            Task first = await Task.WhenAny(probe, Task.Delay(answerTimeout + AnswerSlack, stop)).ConfigureAwait(false);
            if (first == probe && probe.Status == TaskStatus.RanToCompletion) return true;
            _ = probe.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed whenever it ends
            // Unanswered, but data still moved at the end of the wait: a slow machine, not a dead link (whose last
            // buffered bytes are read within moments of its death).
            bool unanswered = first != probe || probe.IsCanceled;
            return unanswered && !stop.IsCancellationRequested && shell is SshShell ssh && ssh.SinceTraffic < RecentTraffic;
        }

        public bool Lost { get; private set; }

        /// <summary>Completes when the connection is declared lost (never, if it is not).</summary>
        public Task LostSignal => _lost.Task;

        public void Dispose()
        {
            _stop.Cancel();
            try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }
}
