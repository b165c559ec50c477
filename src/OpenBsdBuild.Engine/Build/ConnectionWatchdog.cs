using System;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Build
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
                    try
                    {
                        await shell.RunAsync("true", answer.Token).ConfigureAwait(false);
                    }
                    catch (Exception) when (!_stop.IsCancellationRequested)
                    {
                        Lost = true;
                        onLost.Cancel();
                        return;
                    }
                    catch (Exception)
                    {
                        return;
                    }
                }
            });
        }

        public bool Lost { get; private set; }

        public void Dispose()
        {
            _stop.Cancel();
            try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }
}
