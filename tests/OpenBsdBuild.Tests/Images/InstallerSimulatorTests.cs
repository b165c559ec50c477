using System;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>The simulator must catch the mistakes a careless driver makes, or the conversation tests prove nothing.</summary>
    public class InstallerSimulatorTests
    {
        /// <summary>A driver that types the next answer as soon as its trigger has been printed.</summary>
        private static async Task DriveAsync(Stream screen, Stream keyboard, (string Trigger, string Answer)[] script,
            TimeSpan wait, CancellationToken ct)
        {
            var seen = new StringBuilder();
            var buffer = new byte[4096];
            foreach (var (trigger, answer) in script)
            {
                while (seen.ToString().IndexOf(trigger, StringComparison.Ordinal) < 0)
                {
                    var n = await screen.ReadAsync(buffer, 0, buffer.Length, ct);
                    if (n == 0) return;
                    seen.Append(Encoding.UTF8.GetString(buffer, 0, n));
                }
                seen.Clear();
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
                var bytes = Encoding.UTF8.GetBytes(answer + "\r");
                await keyboard.WriteAsync(bytes, 0, bytes.Length, ct);
            }
        }

        private static async Task<InstallerSimulator> RunScriptAsync(SimulatorScenario scenario, (string, string)[] script, TimeSpan wait)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var screen = new InMemoryPipe();
            var keyboard = new InMemoryPipe();
            var simulator = InstallerSimulator.Interactive(scenario, screen.Writer, keyboard.Reader);
            var installer = simulator.RunAsync(cts.Token);
            try
            {
                await DriveAsync(screen.Reader, keyboard.Writer, script, wait, cts.Token);
                await installer.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (TimeoutException)
            {
            }
            finally
            {
                cts.Cancel();
                keyboard.Complete();
            }
            return simulator;
        }

        [Fact]
        public async Task TypingBeforeThePromptIsComplete_IsAViolation()
        {
            // Answers as soon as "Terminal type?" shows, before " [vt220] " has arrived.
            var scenario = InstallTestData.Scenario(s => { s.ChunkDelay = TimeSpan.FromMilliseconds(100); s.SplitAtQuestionMark = true; });
            var simulator = await RunScriptAsync(scenario, new[] { ("(S)hell? ", "I"), ("Terminal type?", "vt220") }, TimeSpan.Zero);

            Assert.Contains(simulator.Violations, v => v.Contains("before the prompt had fully appeared") && v.Contains("Terminal type?"));
        }

        [Fact]
        public async Task AnsweringTheWrongQuestion_IsAViolation()
        {
            // A driver that assumes the DNS questions are skipped types its next answer at "DNS domain name?".
            var scenario = InstallTestData.Scenario(s => s.SingleDhcpInterface = false);
            var script = new[]
            {
                ("(S)hell? ", "I"), ("[vt220] ", "vt220"), ("e.g. 'foo') ", "obsd"), ("[vio0] ", "vio0"),
                ("[autoconf] ", "autoconf"), ("[none] ", "none"), ("[done] ", "done"), ("] ", "vio0"),
            };
            var simulator = await RunScriptAsync(scenario, script, TimeSpan.FromMilliseconds(150));

            Assert.Contains(simulator.Violations, v => v == "answered 'vio0' to 'DNS domain name? (e.g. 'example.com')'");
        }

        [Fact]
        public void KeyMatching_FollowsAutorespond()
        {
            Assert.True(InstallerSimulator.KeyMatches("set name(s)? (or 'abort' or 'done')", "set name(s)"));
            Assert.True(InstallerSimulator.KeyMatches("which sd0 partition has the install sets?", "which sd0 partition has the install sets"));
            Assert.False(InstallerSimulator.KeyMatches("system hostname? (short form, e.g. 'foo')", "system host"));
            Assert.False(InstallerSimulator.KeyMatches("ipv4 address for vio0?", "ipv4 address for vio"));
        }
    }
}
