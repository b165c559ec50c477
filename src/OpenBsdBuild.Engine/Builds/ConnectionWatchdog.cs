using System;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Builds
{
    /// <summary>
    /// A quiet build sends nothing, and a TCP connection whose path died stays "open" for many
    /// minutes. So while a build runs, a trivial command is sent every few seconds; when one gets
    /// no answer in time the connection is declared lost and the build's wait is cancelled,
    /// instead of hanging.
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
                    using var answer = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                    answer.CancelAfter(answerTimeout);
                    // Raced against a timer, not awaited: while an upload has filled the dead connection's send
                    // buffer, even giving up on the probe (closing its channel) blocks inside the SSH library.
                    Task probe = Task.Run(() => shell.RunAsync("true", answer.Token));
                    Task answered = await Task.WhenAny(probe, Task.Delay(answerTimeout + AnswerSlack, _stop.Token)).ConfigureAwait(false);
                    if (_stop.IsCancellationRequested) return;
                    if (answered == probe && probe.Status == TaskStatus.RanToCompletion) continue;
                    _ = probe.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed whenever it ends
                    Lost = true;
                    _lost.TrySetResult(true);
                    onLost.Cancel();
                    return;
                }
            });
        }

        /// <summary>Time for a cancelled probe to come back before the watchdog stops waiting for it.</summary>
        private static readonly TimeSpan AnswerSlack = TimeSpan.FromSeconds(1);

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
