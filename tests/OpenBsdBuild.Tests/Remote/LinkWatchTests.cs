using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>
    /// LinkWatch against a real OpenSSH sshd: a link that is slow because of this side is not a dead one.
    /// (Dead links in every phase: tests/OpenBsdBuild.Tests/Reliability.)
    /// </summary>
    public class LinkWatchTests
    {
        [Fact]
        public async Task A_reader_that_falls_behind_a_download_is_not_taken_for_a_dead_link()
        {
            using var host = new NetnsSshHost();
            using var shell = await SshShell.ConnectAsync(host.Target(), default);
            const long total = 64L << 20;
            // Slower than the link for longer than a probe may go unanswered: the session's receive thread waits on
            // this reader (back-pressure), so the probe's answer queues behind megabytes of unread output.
            var slowFor = LinkWatch.AnswerTimeout + LinkWatch.AnswerTimeout;
            long received = 0;
            int exit = await LinkWatch.RunAsync(shell, token => shell.ReadAsync($"head -c {total} /dev/zero", null, stdout =>
            {
                var buffer = new byte[64 << 10];
                var slow = Stopwatch.StartNew();
                int n;
                while ((n = stdout.Read(buffer, 0, buffer.Length)) > 0)
                {
                    received += n;
                    if (slow.Elapsed < slowFor) Thread.Sleep(250); // 256 KB/s
                }
                return Task.CompletedTask;
            }, null, token), (reason, inner) => new InvalidOperationException($"declared lost: {reason}", inner), default);

            Assert.Equal(0, exit);
            Assert.Equal(total, received);
        }
    }
}
