using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Timing;
using Xunit;

namespace OpenBsdBuild.Tests.Timing
{
    /// <summary>The engine's one poller and its named schedules: pure logic, so milliseconds stand in for the real intervals.</summary>
    public class PollTests
    {
        private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

        [Fact]
        public void Each_schedule_waits_what_its_name_says()
        {
            var second = TimeSpan.FromSeconds(1);
            // A fixed schedule counts from the first attempt's start: a slow attempt shortens the wait, a very slow one removes it.
            Assert.Equal(TimeSpan.FromSeconds(0.5), Backoff.Every(second).DelayAfter(2, TimeSpan.FromSeconds(1.5)));
            Assert.Equal(TimeSpan.Zero, Backoff.Every(second).DelayAfter(1, TimeSpan.FromSeconds(3)));
            Assert.Equal(second, Backoff.Pause(second).DelayAfter(7, TimeSpan.FromSeconds(30)));
            Assert.Equal(new[] { 0.5, 1.0, 1.5 }, Array.ConvertAll(new[] { 1, 2, 3 }, n => Backoff.Linear(TimeSpan.FromSeconds(0.5)).DelayAfter(n, TimeSpan.Zero).TotalSeconds));
            Assert.Equal(new[] { 0.25, 0.5, 1.0, 2.0 }, Array.ConvertAll(new[] { 1, 2, 3, 4 }, n => Backoff.Doubling(TimeSpan.FromSeconds(0.25)).DelayAfter(n, TimeSpan.Zero).TotalSeconds));
        }

        [Fact]
        public async Task Polls_until_the_attempt_returns_a_value()
        {
            var numbers = new List<int>();
            string found = await Poll.UntilAsync(a => { numbers.Add(a.Number); return Task.FromResult(a.Number == 3 ? "ready" : null); },
                Backoff.Pause(Ms), TimeSpan.FromMinutes(1), _ => new TimeoutException(), CancellationToken.None);
            Assert.Equal("ready", found);
            Assert.Equal(new[] { 1, 2, 3 }, numbers);
        }

        [Fact]
        public async Task Throws_the_callers_error_after_a_last_look_at_the_deadline()
        {
            var seen = new List<TimeSpan>();
            var error = await Assert.ThrowsAsync<TimeoutException>(() => Poll.UntilTrueAsync(a => { seen.Add(a.Elapsed); return Task.FromResult(false); },
                Backoff.Pause(TimeSpan.FromMilliseconds(40)), TimeSpan.FromMilliseconds(100), a => new TimeoutException($"gave up after {a.Number}"),
                CancellationToken.None));
            Assert.Equal($"gave up after {seen.Count}", error.Message);
            // A first look before the deadline is followed by another (under load the first may already be past it).
            Assert.True(seen.Count >= 2 || seen[0] >= TimeSpan.FromMilliseconds(100), $"{seen.Count} attempts, the first at {seen[0].TotalMilliseconds} ms");
            // The wait before the last attempt was cut to the deadline, so that attempt looked at or after it.
            Assert.True(seen[seen.Count - 1] >= TimeSpan.FromMilliseconds(100), $"last look at {seen[seen.Count - 1].TotalMilliseconds} ms");
        }

        [Fact]
        public async Task An_attempts_exception_ends_the_poll_at_once()
        {
            int calls = 0;
            await Assert.ThrowsAsync<InvalidOperationException>(() => Poll.UntilAsync<string>(_ => { calls++; throw new InvalidOperationException("failed state"); },
                Backoff.Pause(Ms), TimeSpan.FromMinutes(1), _ => new TimeoutException(), CancellationToken.None));
            Assert.Equal(1, calls);
        }

        [Fact]
        public async Task A_poll_without_a_deadline_ends_on_cancellation()
        {
            using var cancel = new CancellationTokenSource();
            int calls = 0;
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Poll.UntilAsync<string>(_ =>
            {
                if (++calls == 5) cancel.Cancel();
                return Task.FromResult<string?>(null);
            }, Backoff.Pause(Ms), cancel.Token));
            Assert.Equal(5, calls);
        }

        [Fact]
        public async Task Retry_repeats_transient_failures_up_to_the_limit_and_then_rethrows_the_last()
        {
            int calls = 0;
            var last = await Assert.ThrowsAsync<TimeoutException>(() => Poll.RetryAsync<int>(_ => throw new TimeoutException($"try {++calls}"),
                ex => ex is TimeoutException, Backoff.Linear(Ms), 4, CancellationToken.None));
            Assert.Equal("try 4", last.Message);

            calls = 0;
            int value = await Poll.RetryAsync(a => ++calls < 3 ? throw new TimeoutException() : Task.FromResult(42),
                ex => ex is TimeoutException, Backoff.Doubling(Ms), 4, CancellationToken.None);
            Assert.Equal((42, 3), (value, calls));
        }

        [Fact]
        public async Task Retry_does_not_repeat_a_failure_that_is_not_transient()
        {
            int calls = 0;
            await Assert.ThrowsAsync<ArgumentException>(() => Poll.RetryAsync<int>(_ => { calls++; throw new ArgumentException("bad"); },
                ex => ex is TimeoutException, Backoff.Pause(Ms), 5, CancellationToken.None));
            Assert.Equal(1, calls);
        }
    }
}
