using System;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// Work that talks to one machine, with the link to it watched. A connection whose path died silently
    /// stays "open" through TCP's ~15 minutes of retries, and a command on it neither fails nor ends, so no
    /// command's own timeout can tell a slow machine from a lost one. While the work runs, a
    /// <see cref="ConnectionWatchdog"/> asks the machine a trivial question every <see cref="Interval"/>; one
    /// left unanswered for <see cref="AnswerTimeout"/> cancels the work's token and the caller gets the
    /// error its <c>lost</c> factory makes (about 20 s after the link died, whatever was waiting). A failure
    /// of the work itself is checked the same way before it is believed: on a dead link, a command that
    /// fails on its own (a channel that never opens, a jump that times out) is the lost link too.
    /// Every command of the work must use the token it is given; none then needs a bound of its own.
    /// </summary>
    public static class LinkWatch
    {
        /// <summary>How often the machine is asked; with <see cref="AnswerTimeout"/>, the ~20 s bound on noticing a dead link.</summary>
        public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

        /// <summary>How long one question may go unanswered before the link is declared lost.</summary>
        public static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(15);

        /// <summary>Says why the link counts as lost, for the <c>lost</c> factory's message.</summary>
        public const string NoAnswer = "stopped answering";
        public const string Dropped = "dropped the connection";

        /// <summary>
        /// Runs <paramref name="work"/> with the link to <paramref name="shell"/> watched. <paramref name="lost"/> makes the
        /// error for a lost link from the reason (<see cref="NoAnswer"/> or <see cref="Dropped"/>) and the work's own
        /// failure, if any. The caller's cancellation stays a cancellation.
        /// </summary>
        public static async Task<T> RunAsync<T>(IHostShell shell, Func<CancellationToken, Task<T>> work, Func<string, Exception?, Exception> lost,
            CancellationToken cancellationToken)
        {
            using var linkLost = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var watchdog = new ConnectionWatchdog(shell, linkLost, Interval, AnswerTimeout);
            Task<T> running = Task.Run(() => work(linkLost.Token));
            // A command stuck writing into the dead connection never sees the cancel: stop waiting for it.
            if (await Task.WhenAny(running, watchdog.LostSignal).ConfigureAwait(false) != running)
            {
                _ = running.ContinueWith(t => t.Exception, TaskScheduler.Default); // ends when TCP gives up; observed then
                if (cancellationToken.IsCancellationRequested) throw new OperationCanceledException(cancellationToken);
                throw lost(NoAnswer, null);
            }
            try
            {
                return await running.ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && !IsLinkError(ex))
            {
                var failure = ExceptionDispatchInfo.Capture(ex);
                if (ex is OpenBsdBuildException { ErrorId: "ConnectionLost" }) throw lost(Dropped, ex);
                if (watchdog.Lost) throw lost(NoAnswer, ex);
                // Believed only once the machine is seen answering.
                Task<bool> answers = ConnectionWatchdog.AnswersAsync(shell, AnswerTimeout, CancellationToken.None);
                if (await Task.WhenAny(answers, watchdog.LostSignal).ConfigureAwait(false) != answers || !answers.Result)
                    throw lost(NoAnswer, ex);
                failure.Throw();
                throw; // not reached
            }
        }

        /// <summary>Time for cancelled work to come back before <see cref="WithinAsync"/> stops waiting for it.</summary>
        private static readonly TimeSpan CancelSlack = TimeSpan.FromSeconds(1);

        /// <summary>
        /// <paramref name="work"/> on a machine whose link may be dead, waited for at most <paramref name="bound"/>: past it,
        /// an <see cref="OperationCanceledException"/>. The token alone is not enough: while an upload has filled a dead
        /// connection's send buffer (a guest reached through its host fills the host's), giving up on a command (closing
        /// its channel) blocks inside the SSH library, so the wait is raced against a timer and the work is abandoned.
        /// </summary>
        public static async Task<T> WithinAsync<T>(Func<CancellationToken, Task<T>> work, TimeSpan bound, CancellationToken cancellationToken)
        {
            var giveUp = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            giveUp.CancelAfter(bound);
            Task<T> running = Task.Run(() => work(giveUp.Token));
            Task first;
            try { first = await Task.WhenAny(running, Task.Delay(bound + CancelSlack, cancellationToken)).ConfigureAwait(false); }
            catch (OperationCanceledException) { first = Task.CompletedTask; }
            if (first != running)
            {
                _ = running.ContinueWith(t => { giveUp.Dispose(); return t.Exception; }, TaskScheduler.Default); // observed whenever it ends
                cancellationToken.ThrowIfCancellationRequested();
                throw new OperationCanceledException($"No answer within {bound.TotalSeconds:0} s.");
            }
            giveUp.Dispose();
            return await running.ConfigureAwait(false);
        }

        /// <summary>The error of a lost link already made (by a watch nested in this one).</summary>
        private static bool IsLinkError(Exception ex) =>
            ex is OpenBsdBuildException { ErrorId: "HostLost" } || ex is OpenBsdBuildException { ErrorId: "GuestLost" };
    }
}
