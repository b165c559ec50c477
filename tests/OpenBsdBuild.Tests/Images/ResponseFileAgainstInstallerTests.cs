using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Images.Installer;
using OpenBsdBuild.Images;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>
    /// Runs the generated response file through the simulator's autoinstall mode, which answers the
    /// installer's questions with install.sub's _autorespond() rules (docs/openbsd-notes.md).
    /// </summary>
    public class ResponseFileAgainstInstallerTests
    {
        private static async Task<InstallerSimulator> AutoinstallAsync(SimulatorScenario scenario, InstallOptions options)
        {
            var simulator = InstallerSimulator.Autoinstall(scenario, ResponseFile.Build(options).ToText());
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await simulator.RunAsync(cts.Token);
            return simulator;
        }

        [Theory]
        [InlineData(InstallerWording.Release2024)]
        [InlineData(InstallerWording.Release2023)]
        public async Task EveryQuestionIsAnswered_AndEveryLineIsUsed(InstallerWording wording)
        {
            var scenario = InstallTestData.Scenario(s => s.Wording = wording);
            var simulator = await AutoinstallAsync(scenario, InstallTestData.Options());

            Assert.Empty(simulator.Violations); // includes "Question has no answer in response file"
            Assert.True(simulator.Result.Completed);
            // The X question is not asked on headless arm64 (docs/openbsd-notes.md); its line stays for other platforms.
            Assert.Equal(new[] { ResponseFile.XWindowKey + " = no" }, simulator.UnusedLines);
            // Each key is a word-aligned substring of the real question that used it.
            Assert.All(simulator.ConsumedLines, c => Assert.True(
                InstallerSimulator.KeyMatches(c.Question.ToLowerInvariant(), c.Key.ToLowerInvariant()), $"'{c.Key}' does not match '{c.Question}'"));
        }

        [Fact]
        public async Task TheImageBuildsAnswers_GetPastTheMissingSha256SigOfInstallNNimg()
        {
            // installNN.img carries SHA256 but no SHA256.sig (distrib/arm64/iso/Makefile), so install.sub always
            // asks "Directory does not contain SHA256.sig. Continue without verification? [no]" for its sets.
            var request = new ImageBuildRequest { Version = "7.8", BuildUserKey = InstallTestData.UserKey, Output = "x.qcow2" };
            var options = request.ToInstallOptions(InstallTestData.RootPassword, InstallTestData.RootKey, InstallTestData.TemplateUrl);
            var scenario = InstallTestData.Scenario(s => { s.Version = "7.8"; s.SetsSigned = false; s.VerificationIssue = "Directory does not contain SHA256.sig"; });
            var simulator = await AutoinstallAsync(scenario, options);

            Assert.Empty(simulator.Violations);
            Assert.True(simulator.Result.Completed);
            Assert.True(simulator.Result.AcceptedUnverifiedSets);
        }

        [Fact]
        public async Task Amd64WithDisplay_UsesTheXLineToo()
        {
            var scenario = InstallTestData.Scenario(s => { s.Arch = "amd64"; s.DiskStyle = DiskPromptStyle.Amd64; s.AskXWindow = true; });
            var options = InstallTestData.Options(o => o.Sets = new DiskSetsSource { Disk = "sd0", Pathname = "7.6/amd64" });
            var simulator = await AutoinstallAsync(scenario, options);

            Assert.Empty(simulator.Violations);
            Assert.Empty(simulator.UnusedLines);
        }

        [Fact]
        public async Task SetLines_AreUsedInOrderByTheRepeatedQuestion()
        {
            var options = InstallTestData.Options(o => o.SetSelections = new[] { "-x*", "-game*" });
            var simulator = await AutoinstallAsync(InstallTestData.Scenario(), options);

            var sets = simulator.ConsumedLines.Where(c => c.Key == ResponseFile.SetNamesKey).ToList();
            Assert.Equal(new[] { "-x*", "-game*", "done" }, sets.Select(c => c.Answer));
            Assert.True(sets.Select(c => c.LineNumber).SequenceEqual(sets.Select(c => c.LineNumber).OrderBy(n => n)));
            Assert.All(sets, c => Assert.Equal("Set name(s)? (or 'abort' or 'done')", c.Question));
            Assert.Equal("bsd bsd.mp bsd.rd base76.tgz comp76.tgz man76.tgz", simulator.Result.Sets);
        }

        [Fact]
        public async Task MissingAnswerWithoutDefault_AbortsLikeTheInstaller()
        {
            // Without a timezone line the offline installer has no default and gives up (docs/openbsd-notes.md).
            var text = ResponseFile.Build(InstallTestData.Options()).ToText()
                .Replace("What timezone are you in = UTC\n", "");
            var simulator = InstallerSimulator.Autoinstall(InstallTestData.Scenario(), text);
            await simulator.RunAsync(CancellationToken.None);

            Assert.Contains(simulator.Violations, v => v.StartsWith("Question has no answer in response file: \"what timezone are you in?"));
        }

        [Theory]
        [InlineData(InstallerWording.Release2024, false)]
        [InlineData(InstallerWording.Release2023, true)]
        public async Task BothPaths_InstallTheSameSystem(InstallerWording wording, bool httpSets)
        {
            var scenario = InstallTestData.Scenario(s => s.Wording = wording);
            var options = InstallTestData.Options(o =>
            {
                if (httpSets) o.Sets = new HttpSetsSource { Server = "http://10.0.2.2:8000", Directory = "pub/OpenBSD/7.6/arm64" };
            });

            var auto = await AutoinstallAsync(scenario, options);
            using var run = new InstallerRun(InstallTestData.Scenario(s => s.Wording = wording), options);
            await run.RunAsync();

            Assert.Empty(auto.Violations);
            Assert.Empty(run.Simulator.Violations);
            Assert.Equal(auto.Result, run.Simulator.Result);
            Assert.Equal(DisklabelTemplate.RustBuild.ToText(), auto.Result.Layout);
        }
    }
}
