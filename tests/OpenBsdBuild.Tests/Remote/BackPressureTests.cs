using System;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>
    /// The artifact stream path (SshShell.ReadAsync) against a real OpenSSH sshd: a reader that falls behind holds
    /// the sender back instead of letting the transfer pile up in this process (docs/transfers.md, "Back-pressure").
    /// </summary>
    public class BackPressureTests
    {
        [Fact]
        public async Task A_paused_reader_stops_the_sender_and_then_gets_every_byte()
        {
            using var host = new NetnsSshHost();
            using var shell = await SshShell.ConnectAsync(host.Target(), default);
            const long total = 256L << 20;
            string pidFile = $"/tmp/obb-backpressure-{Guid.NewGuid():N}.pid";
            var paused = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var resume = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            long received = 0;
            Task<int> transfer = shell.ReadAsync($"head -c {total} /dev/zero & echo $! > {pidFile}; wait", null, async stdout =>
            {
                var buffer = new byte[1 << 20];
                int n;
                while (received < (1 << 20) && (n = stdout.Read(buffer, 0, buffer.Length)) > 0) received += n;
                paused.SetResult(true);
                await resume.Task;
                while ((n = stdout.Read(buffer, 0, buffer.Length)) > 0) received += n;
            }, null, default);

            await paused.Task;
            // Watch the sender (head) from the host's side: without back-pressure it writes all 256 MB into this process
            // while the reader sleeps; with it, it stalls once sshd's and the sockets' buffers and ours are full.
            long written = 0, stalledAt = -1;
            int stillFor = 0;
            for (var since = DateTime.UtcNow; DateTime.UtcNow - since < TimeSpan.FromMinutes(5);)
            {
                await Task.Delay(1000);
                string io = host.Exec($"p=$(cat {pidFile} 2>/dev/null) && [ -n \"$p\" ] && grep '^wchar:' /proc/$p/io || echo 'wchar: -1'", allowFailure: true);
                long now = long.Parse(io.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
                if (now < 0 && written > 0) break; // head exited: it wrote everything
                if (now >= 0 && now == written) { if (++stillFor == 3) { stalledAt = now; break; } }
                else stillFor = 0;
                written = Math.Max(written, now);
            }
            Assert.True(stalledAt >= 0 && stalledAt < total,
                $"The sender wrote {written >> 20} MB of {total >> 20} MB while the reader was paused after 1 MB: nothing held it back.");

            resume.SetResult(true);
            Assert.Equal(0, await transfer);
            Assert.Equal(total, received);
            Assert.InRange(shell.LastReadPeakBuffered, 1, SshShell.ReadBufferLimit + (64 << 10));
        }
    }
}
