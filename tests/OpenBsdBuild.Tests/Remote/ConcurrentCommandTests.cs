using System.Linq;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>
    /// The engine runs commands side by side on one connection (a build, the link watch's probes, a kill), so one
    /// command's channel opens while another's process exits. OpenSSH keeps both; dropbear before 2024.86 closed the
    /// opening channel and then dropped the whole connection (docs/compatibility.md).
    /// </summary>
    [Collection(SharedGuestCollection.Name)]
    public class ConcurrentCommandTests
    {
        private readonly SharedGuest _shared;
        public ConcurrentCommandTests(SharedGuest shared) => _shared = shared;

        [Fact]
        public async Task Commands_that_open_while_others_exit_leave_the_guests_connection_alive()
        {
            // A connection of its own: the rest of the collection keeps the shared one.
            using var shell = await SshShell.ConnectAsync(_shared.Target, default);
            await RunSideBySide(shell);
        }

        [Fact]
        public async Task Commands_that_open_while_others_exit_leave_an_OpenSSH_connection_alive()
        {
            using var host = new NetnsSshHost();
            using var shell = await SshShell.ConnectAsync(host.Target(), default);
            await RunSideBySide(shell);
        }

        private static async Task RunSideBySide(SshShell shell)
        {
            const int lanes = 6, each = 15;
            var exits = await Task.WhenAll(Enumerable.Range(0, lanes).Select(async lane =>
            {
                int failed = 0;
                for (int i = 0; i < each; i++)
                    if ((await shell.RunAsync($"echo {lane}.{i}", default)).ExitCode != 0) failed++;
                return failed;
            }));
            Assert.All(exits, failed => Assert.Equal(0, failed));
            Assert.True(shell.IsConnected, "the connection closed");
        }
    }
}
