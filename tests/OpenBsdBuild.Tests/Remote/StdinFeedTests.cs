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
    }
}
