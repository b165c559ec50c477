using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>
    /// SSH sessions read and write their sockets with the kernel's blocking calls, outside .NET's epoll thread
    /// (docs/transfers.md, "The client's own cost per packet"), against a real OpenSSH sshd, directly and through a jump.
    /// </summary>
    public class SessionSocketTests
    {
        [Fact]
        public async Task Direct_and_jumped_sessions_use_blocking_sockets_outside_epoll_and_carry_a_stream_intact()
        {
            using var host = new NetnsSshHost();
            var target = host.Target();
            using var jump = await SshShell.ConnectAsync(target, default);
            using var inner = await SshShell.ConnectAsync(target, default, jump);
            foreach (var (name, shell) in new[] { ("jump", jump), ("inner", inner) })
            {
                var socket = shell.SessionSocket;
                Assert.True(socket != null, "SSH.NET no longer has BaseClient.Session or Session._socket: BlockingSessionSocket needs another seam.");
                Assert.False(BlockingSessionSocket.IsKernelNonBlocking(socket!), $"The {name} session's socket is still non-blocking.");
                Assert.Empty(BlockingSessionSocket.EpollInstancesWatching((int)socket!.Handle));
            }

            var made = await inner.RunAsync("head -c 67108864 /dev/urandom > /tmp/obb-socket.bin && sha256sum /tmp/obb-socket.bin", default);
            Assert.True(made.Succeeded, made.Message);
            string expected = made.Stdout.Split(' ')[0];
            using var sha = SHA256.Create();
            long received = 0;
            int exit = await inner.ReadAsync("cat /tmp/obb-socket.bin; rm /tmp/obb-socket.bin", null, stdout =>
            {
                var buffer = new byte[1 << 20];
                int n;
                while ((n = stdout.Read(buffer, 0, buffer.Length)) > 0) { sha.TransformBlock(buffer, 0, n, null, 0); received += n; }
                sha.TransformFinalBlock(buffer, 0, 0);
                return Task.CompletedTask;
            }, null, default);
            Assert.Equal((0, 64L << 20, expected), (exit, received, Convert.ToHexString(sha.Hash!).ToLowerInvariant()));
        }

        /// <summary>Ctrl+C mid-stream still ends the read, and the session then closes (its receive thread blocked in the kernel, not in epoll).</summary>
        [Fact]
        public async Task A_cancelled_endless_stream_through_a_jump_stops_and_the_sessions_close()
        {
            using var host = new NetnsSshHost();
            var target = host.Target();
            using var jump = await SshShell.ConnectAsync(target, default);
            var inner = await SshShell.ConnectAsync(target, default, jump);
            using var cancel = new CancellationTokenSource();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => inner.ReadAsync("cat /dev/zero", null, stdout =>
            {
                var buffer = new byte[1 << 20];
                long received = 0;
                int n;
                while ((n = stdout.Read(buffer, 0, buffer.Length)) > 0)
                    if ((received += n) > (8 << 20)) cancel.Cancel();
                return Task.CompletedTask;
            }, null, cancel.Token));
            inner.Dispose();
            // The jump's session outlives the forward the inner one ran in.
            Assert.True((await jump.RunAsync("true", default)).Succeeded);
        }

        /// <summary>The far end going away mid-stream (the jump's sshd ends) is ConnectionLost, not a read that never returns.</summary>
        [Fact]
        public async Task The_jump_ending_mid_stream_is_ConnectionLost()
        {
            using var host = new NetnsSshHost();
            var target = host.Target();
            using var jump = await SshShell.ConnectAsync(target, default);
            using var inner = await SshShell.ConnectAsync(target, default, jump);
            var streaming = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<int> transfer = inner.ReadAsync("cat /dev/zero", null, stdout =>
            {
                var buffer = new byte[1 << 20];
                long received = 0;
                int n;
                while ((n = stdout.Read(buffer, 0, buffer.Length)) > 0)
                    if ((received += n) > (4 << 20)) streaming.TrySetResult(true);
                return Task.CompletedTask;
            }, null, default);
            await streaming.Task;
            // The jump's own session process on the host: killing it closes the connection the forward runs in.
            try { await jump.RunAsync("kill $PPID", default); } catch (OpenBsdBuildException) { /* its own session ends too */ }
            var lost = await Assert.ThrowsAsync<OpenBsdBuildException>(() => transfer);
            Assert.Equal("ConnectionLost", lost.ErrorId);
        }
    }
}
