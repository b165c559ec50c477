using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>
    /// An upload through a jump (a guest behind its host) whose link to the host dies: the data in flight fills the host
    /// connection's send buffer, the jump's forward stops draining, and both SSH sessions are stuck in a socket send
    /// holding their write lock, which TCP releases only after ~15 min. Against a real OpenSSH sshd in a netns, jumping
    /// through it to itself; no QEMU, ~20 s.
    /// </summary>
    public class DeadLinkTests
    {
        /// <summary>
        /// Each wait below is a hang guard, not a speed check: a close or cancel takes seconds, a hang takes TCP's ~15 min
        /// (more than the suite's per-test guard allows, so a hang would otherwise pass, slowly).
        /// </summary>
        private static readonly TimeSpan HangGuard = TimeSpan.FromMinutes(2);

        [Fact]
        public void The_seam_that_cuts_a_stuck_SSH_session_exists_in_this_SSH_NET() => Assert.True(SshTransport.CanCut);

        [Fact]
        public async Task Cancelling_and_closing_a_jumped_upload_whose_host_link_died_returns_and_ends_the_upload()
        {
            using var host = new NetnsSshHost();
            var target = host.Target();
            var outer = await SshShell.ConnectAsync(target, default);
            var inner = await SshShell.ConnectAsync(target, default, via: outer);
            try
            {
                using var cancel = new CancellationTokenSource();
                var source = new EndlessSource();
                Task<int> upload = inner.StreamAsync("cat > /dev/null", source, null, null, cancel.Token);
                Until(() => source.Sent > 8 << 20, upload, "8 MB sent");
                host.LinkDown();
                Until(source.Stalled, upload, "the upload stalled on the dead link");

                // Ctrl+C and the link watch cancel this way: Cancel() runs SSH.NET's own cancel, which sends a signal.
                Assert.True(Task.Run(cancel.Cancel).Wait(HangGuard), "Cancel() never returned");
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Bounded(upload, "the cancelled upload"));

                Assert.True(Task.Run(inner.Dispose).Wait(HangGuard), "closing the shell behind the jump never returned");
                Assert.True(Task.Run(outer.Dispose).Wait(HangGuard), "closing the jump host's shell never returned");
            }
            finally
            {
                host.LinkUp();
                inner.Dispose();
                outer.Dispose();
            }
        }

        private static async Task<T> Bounded<T>(Task<T> task, string what)
        {
            if (await Task.WhenAny(task, Task.Delay(HangGuard)) != task) throw new TimeoutException(what + " never ended");
            return await task;
        }

        private static void Until(Func<bool> reached, Task running, string what)
        {
            var deadline = DateTime.UtcNow + HangGuard;
            while (!reached())
            {
                if (running.IsCompleted) throw new InvalidOperationException($"The upload ended before {what}: {running.Exception?.GetBaseException().Message ?? "no error"}");
                if (DateTime.UtcNow > deadline) throw new TimeoutException("Never reached: " + what);
                Thread.Sleep(100);
            }
        }

        /// <summary>Incompressible bytes without end; says how much was read and when the reader stopped coming back.</summary>
        private sealed class EndlessSource : SequentialStream
        {
            private readonly byte[] _block = new byte[1 << 20];
            private long _sent;
            private long _lastReadTicks = DateTime.UtcNow.Ticks;

            public EndlessSource() => new Random(13).NextBytes(_block);

            public long Sent => Interlocked.Read(ref _sent);

            /// <summary>No read for 3 s: every buffer on the way is full.</summary>
            public bool Stalled() => DateTime.UtcNow.Ticks - Interlocked.Read(ref _lastReadTicks) > TimeSpan.FromSeconds(3).Ticks;

            public override int Read(byte[] buffer, int offset, int count)
            {
                int n = Math.Min(count, _block.Length);
                Buffer.BlockCopy(_block, 0, buffer, offset, n);
                Interlocked.Add(ref _sent, n);
                Interlocked.Exchange(ref _lastReadTicks, DateTime.UtcNow.Ticks);
                return n;
            }

            public override bool CanRead => true;
            public override bool CanWrite => false;
        }
    }
}
