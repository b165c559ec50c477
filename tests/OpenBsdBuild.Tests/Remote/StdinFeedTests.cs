using System;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>Input for a command over a real OpenSSH sshd, when the command does not wait for it.</summary>
    public class StdinFeedTests
    {
        /// <summary>
        /// A build with no secrets never reads the (empty) secrets on its stdin; on an idle machine it can end before the
        /// input is opened, which SSH.NET refuses. CI saw Invoke-GuestBuild fail that way. Many quick commands make the race
        /// all but certain on the old code; each must still give its own exit code and output.
        /// </summary>
        [Fact]
        public async Task A_command_that_ends_without_reading_its_input_gives_its_exit_code_not_an_error()
        {
            using var host = new NetnsSshHost();
            using var shell = await SshShell.ConnectAsync(host.Target(), default);
            for (int i = 0; i < 40; i++)
            {
                var output = new StringBuilder();
                using var input = new MemoryStream(i % 2 == 0 ? new byte[0] : Encoding.ASCII.GetBytes("unread\n"));
                int exit = await shell.StreamAsync($"echo round {i}; exit {i % 3}", input, line => output.Append(line), null, default);
                Assert.Equal((i % 3, $"round {i}"), (exit, output.ToString()));
            }
        }

        /// <summary>
        /// Input larger than the server's window (OpenSSH's is 2 MB) to a command that exits without reading it: the input
        /// is still being sent when the server closes the channel. SSH.NET's own write went on sending after the CLOSE it
        /// sent in reply, and OpenSSH dropped the whole connection ("data packet referred to nonexistent channel"): the
        /// first round failed with ConnectionLost, every time. A write waiting for window space must also give up when the
        /// channel closes, where SSH.NET waits out the connection's timeout (10 min here).
        /// </summary>
        [Fact]
        public async Task Input_the_command_never_reads_stops_when_the_command_ends_and_the_connection_stays_usable()
        {
            using var host = new NetnsSshHost();
            var target = host.Target();
            target.ConnectTimeout = TimeSpan.FromMinutes(10);
            using var shell = await SshShell.ConnectAsync(target, default);
            for (int i = 0; i < 3; i++)
            {
                using var unread = new MemoryStream(new byte[8 << 20]);
                Task<int> run = shell.StreamAsync("exit 3", unread, null, null, default);
                // Far below the 10 min SSH.NET would wait, far above what the command takes on a loaded machine.
                Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromMinutes(2))));
                Assert.Equal(3, await run);
            }
            var output = new StringBuilder();
            Assert.Equal(0, await shell.StreamAsync("echo still here", null, line => output.Append(line), null, default));
            Assert.Equal("still here", output.ToString());
        }
    }
}
