using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;
using OpenBsdBuild.Tests.Cloud;

namespace OpenBsdBuild.Tests.Hosts
{
    /// <summary>The ambient trace on real local commands: its scope, long scripts, polls, secrets.</summary>
    public sealed class OperationTraceTests
    {
        private static readonly LocalShell Shell = new LocalShell();

        /// <summary>Runs <paramref name="work"/> as a cmdlet does: in a task of its own with the trace set inside it.</summary>
        private static RecordingReporter Traced(System.Func<Task> work)
        {
            var reporter = new RecordingReporter();
            Task.Run(async () =>
            {
                OperationTrace.Use(reporter);
                await work();
            }).GetAwaiter().GetResult();
            return reporter;
        }

        [Fact]
        public async Task Commands_are_announced_only_inside_the_traced_work_and_the_tasks_it_starts()
        {
            var reporter = Traced(async () =>
            {
                await Shell.RunAsync("echo one", CancellationToken.None);
                await Task.Run(() => Shell.RunAsync("echo two", CancellationToken.None)); // flows into tasks it starts
            });
            await Shell.RunAsync("echo outside", CancellationToken.None); // the setting did not leak onto this thread
            Assert.Equal(new[] { "local: echo one", "local: echo two" }, reporter.VerboseMessages);
        }

        [Fact]
        public void A_multi_line_script_shows_its_first_line_and_size_and_stdin_is_named_not_shown()
        {
            string script = "set -e\necho a\necho b\n";
            var reporter = Traced(async () =>
            {
                await Shell.RunAsync(script, CancellationToken.None);
                await Shell.StreamAsync("cat >/dev/null", new MemoryStream(new byte[] { 1, 2, 3 }), null, null, CancellationToken.None);
                await Shell.StreamAsync("sh -s", new ShellScript("echo from stdin\nexit 0\n"), null, null, CancellationToken.None);
            });
            Assert.Equal(new[]
            {
                "local: set -e  # 3 lines, 21 chars",
                "local: cat >/dev/null  # stdin: data",
                "local: sh -s  # stdin: script echo from stdin (2 lines, 23 chars)",
            }, reporter.VerboseMessages);
        }

        [Fact]
        public void A_one_line_command_past_2000_characters_is_cut()
        {
            string command = "echo " + new string('x', 3000);
            var reporter = Traced(() => Shell.RunAsync(command, CancellationToken.None));
            string line = Assert.Single(reporter.VerboseMessages);
            Assert.Equal("local: " + command.Substring(0, 2000) + "...  # 1 line, 3,005 chars", line);
        }

        [Fact]
        public void A_poll_shows_each_command_once_and_secrets_show_as_stars()
        {
            var reporter = Traced(async () =>
            {
                using (OperationTrace.Polling())
                    for (int i = 0; i < 3; i++)
                        await Shell.RunAsync("true", CancellationToken.None);
                await Shell.RunAsync("true", CancellationToken.None); // outside the poll: shown again
                using (OperationTrace.Masking(new[] { "hunter2" }))
                    await Shell.RunAsync("test x = hunter2 || true", CancellationToken.None);
                await Shell.RunAsync("echo hunter2", CancellationToken.None); // the mask ended with its scope
            });
            Assert.Equal(new[]
            {
                "local: true  # polled, shown once",
                "local: true",
                "local: test x = *** || true",
                "local: echo hunter2",
            }, reporter.VerboseMessages);
        }

        [Fact]
        public void Without_a_trace_nothing_is_announced()
        {
            var reporter = new RecordingReporter();
            Task.Run(async () =>
            {
                OperationTrace.Use(null); // what a cmdlet does without -Verbose
                using (OperationTrace.Polling())
                using (OperationTrace.Masking(new[] { "s" }))
                    await Shell.RunAsync("true", CancellationToken.None);
            }).GetAwaiter().GetResult();
            Assert.Empty(reporter.VerboseMessages);
        }
    }
}
