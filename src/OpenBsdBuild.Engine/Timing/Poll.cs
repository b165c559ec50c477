using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace OpenBsdBuild.Timing
{
    /// <summary>How long to wait before the next attempt; each schedule is named for the kind of wait it suits.</summary>
    public sealed class Backoff
    {
        private readonly Func<int, TimeSpan, TimeSpan> _delay;
        private readonly string _name;

        private Backoff(string name, Func<int, TimeSpan, TimeSpan> delay)
        {
            _name = name;
            _delay = delay;
        }

        /// <summary>
        /// A fixed schedule: attempt n starts n × <paramref name="interval"/> after the first, however long each took,
        /// so a change is seen at most one interval plus one round trip after it happens. For cheap status reads
        /// (DescribeInstances, console output) while the user waits for every second added at the end.
        /// </summary>
        public static Backoff Every(TimeSpan interval) =>
            new Backoff($"every {interval.TotalSeconds:0.###} s", (done, elapsed) => Max(TimeSpan.FromTicks(interval.Ticks * done) - elapsed));

        /// <summary>A rest of <paramref name="pause"/> after each attempt: for checks that cost the far end a command or a connection each time.</summary>
        public static Backoff Pause(TimeSpan pause) => new Backoff($"{pause.TotalSeconds:0.###} s apart", (_, __) => pause);

        /// <summary>first, 2 × first, 3 × first, …: for a server that drops connections while it reaps earlier ones.</summary>
        public static Backoff Linear(TimeSpan first) =>
            new Backoff($"{first.TotalSeconds:0.###} s more each time", (done, _) => TimeSpan.FromTicks(first.Ticks * done));

        /// <summary>first, 2 × first, 4 × first, …: for an API that answers "slow down" (EC2's RequestLimitExceeded).</summary>
        public static Backoff Doubling(TimeSpan first) =>
            new Backoff($"doubling from {first.TotalSeconds:0.###} s", (done, _) => TimeSpan.FromTicks(first.Ticks << Math.Min(done - 1, 20)));

        /// <summary>The wait after <paramref name="attemptsDone"/> attempts (1 or more), <paramref name="elapsed"/> after the first began.</summary>
        public TimeSpan DelayAfter(int attemptsDone, TimeSpan elapsed) => _delay(attemptsDone, elapsed);

        public override string ToString() => _name;

        private static TimeSpan Max(TimeSpan t) => t > TimeSpan.Zero ? t : TimeSpan.Zero;
    }

    /// <summary>Where a poll stands when an attempt starts or the wait ends: which attempt, and how long since the first.</summary>
    public readonly struct PollAttempt
    {
        public PollAttempt(int number, TimeSpan elapsed)
        {
            Number = number;
            Elapsed = elapsed;
        }

        /// <summary>1 for the first attempt.</summary>
        public int Number { get; }

        public TimeSpan Elapsed { get; }
    }

    /// <summary>
    /// The one way the engine waits for something outside it: call, look, wait by a named <see cref="Backoff"/>,
    /// and give up with the caller's own error once the time is up. The attempt after the deadline is never
    /// skipped: the last look happens at or after it, so a thing that became ready just in time is seen.
    /// </summary>
    public static class Poll
    {
        /// <summary>
        /// Calls <paramref name="attempt"/> until it returns a value; once <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/>: never) has passed without one,
        /// throws what <paramref name="timedOut"/> makes. Exceptions from an attempt end the poll (catch inside to retry on them).
        /// </summary>
        public static async Task<T> UntilAsync<T>(Func<PollAttempt, Task<T?>> attempt, Backoff backoff, TimeSpan timeout,
            Func<PollAttempt, Exception> timedOut, CancellationToken ct) where T : class
        {
            var clock = Stopwatch.StartNew();
            for (int number = 1; ; number++)
            {
                ct.ThrowIfCancellationRequested();
                T? value = await attempt(new PollAttempt(number, clock.Elapsed)).ConfigureAwait(false);
                if (value != null) return value;
                TimeSpan delay = backoff.DelayAfter(number, clock.Elapsed);
                if (timeout != Timeout.InfiniteTimeSpan)
                {
                    if (clock.Elapsed >= timeout) throw timedOut(new PollAttempt(number, clock.Elapsed));
                    // One more look at the deadline rather than a nap past it.
                    TimeSpan left = timeout - clock.Elapsed;
                    if (left < delay) delay = left;
                }
                await Task.Delay(delay, ct).ConfigureAwait(false);
            }
        }

        /// <summary>As <see cref="UntilAsync{T}"/> with no deadline: for waits only the far end or Ctrl+C ends.</summary>
        public static Task<T> UntilAsync<T>(Func<PollAttempt, Task<T?>> attempt, Backoff backoff, CancellationToken ct) where T : class =>
            UntilAsync(attempt, backoff, Timeout.InfiniteTimeSpan, _ => new InvalidOperationException("A poll without a deadline timed out."), ct);

        /// <summary>As <see cref="UntilAsync{T}"/>, for a check that only says done or not yet.</summary>
        public static Task UntilTrueAsync(Func<PollAttempt, Task<bool>> attempt, Backoff backoff, TimeSpan timeout,
            Func<PollAttempt, Exception> timedOut, CancellationToken ct) =>
            UntilAsync<object>(async a => await attempt(a).ConfigureAwait(false) ? Done : null, backoff, timeout, timedOut, ct);

        /// <summary>
        /// Calls <paramref name="attempt"/> up to <paramref name="attempts"/> times while it fails in a way <paramref name="transient"/>
        /// accepts; the last failure, or any other, propagates as it was thrown.
        /// </summary>
        public static async Task<T> RetryAsync<T>(Func<PollAttempt, Task<T>> attempt, Func<Exception, bool> transient, Backoff backoff, int attempts,
            CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            for (int number = 1; ; number++)
            {
                try
                {
                    return await attempt(new PollAttempt(number, clock.Elapsed)).ConfigureAwait(false);
                }
                catch (Exception ex) when (number < attempts && transient(ex) && !ct.IsCancellationRequested)
                {
                    await Task.Delay(backoff.DelayAfter(number, clock.Elapsed), ct).ConfigureAwait(false);
                }
            }
        }

        private static readonly object Done = new object();
    }
}
