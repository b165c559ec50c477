using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Installer;

namespace OpenBsdBuild.Tests.Images
{
    public class InstallerConversationTests
    {
        [Fact]
        public async Task Transcript_RecordsBothSidesWithTimesAndMasksPasswords()
        {
            var reporter = new RecordingReporter();
            using var run = new InstallerRun(InstallTestData.Scenario(), InstallTestData.Options(), reporter: reporter);
            var result = await run.RunAsync();
            var transcript = result.Transcript;

            Assert.Contains("console: Welcome to the OpenBSD/arm64 7.6 installation program.", reporter.Messages);
            Assert.Contains(reporter.Messages, m => m.StartsWith("console: Installing base76.tgz") && m.Contains(" 100% "));
            Assert.DoesNotContain(reporter.Messages, m => m.Contains(" 45% "));  // overwritten progress
            Assert.Contains("verbose: Installer: typed 'obsd-build'", reporter.Messages);
            Assert.DoesNotContain(reporter.Messages, m => m.Contains(InstallTestData.RootPassword));
            var entries = transcript.Entries;

            Assert.Contains("Welcome to the OpenBSD/arm64 7.6 installation program.", transcript.ReceivedText);
            Assert.Contains(entries, e => e.Direction == TranscriptDirection.Sent && e.Text == "obsd-build");
            Assert.Equal(2, entries.Count(e => e.Direction == TranscriptDirection.Sent && e.Text == InstallerTranscript.Mask && IsAfter(entries, e, "Password for root account?")));
            Assert.DoesNotContain(InstallTestData.RootPassword, transcript.ToString());
            Assert.True(entries.Zip(entries.Skip(1), (a, b) => a.Time <= b.Time).All(x => x));
            Assert.Contains("CONGRATULATIONS!", transcript.ReceivedText);
            // The layout and the keys went in through '!' escapes, each line short enough for the tty.
            Assert.Contains(run.Simulator.ShellEscapes, e => e.StartsWith("!disklabel -T "));
            Assert.All(run.Simulator.ShellEscapes, e => Assert.True(e.Length <= InstallerShellEscape.MaxLineLength));
            Assert.Contains("Exit to (S)hell, (H)alt or (R)eboot? [reboot] ", transcript.ReceivedText);
        }

        private static bool IsAfter(System.Collections.Generic.IReadOnlyList<TranscriptEntry> entries, TranscriptEntry sent, string promptStart)
        {
            var index = entries.ToList().IndexOf(sent);
            var received = entries.Take(index).LastOrDefault(e => e.Direction == TranscriptDirection.Received);
            var lastLine = received?.Text.Split('\n').Last() ?? "";
            return lastLine.StartsWith(promptStart);
        }

        [Fact]
        public async Task Halt_WithoutKeysOrLayout()
        {
            var options = InstallTestData.Options(o =>
            {
                o.RootPublicKey = null;
                o.User = null;
                o.DiskLayout = null;
                o.DiskLayoutUrl = null;
                o.FinishAction = InstallFinishAction.Halt;
            });
            using var run = new InstallerRun(InstallTestData.Scenario(), options);
            await run.RunAsync();

            Assert.Empty(run.Simulator.Violations);
            // A plain halt on arm64 waits at "Please press any key to reboot." and QEMU never exits: the
            // answer powers down instead, and the installer is gone (RunAsync waits for that).
            Assert.Equal(new[] { "!halt -p" }, run.Simulator.ShellEscapes);
            Assert.Equal("powerdown", run.Simulator.FinishedWith);
            Assert.Equal("auto", run.Simulator.Result.Layout);
            Assert.Equal("", run.Simulator.Result.User);
        }

        [Fact]
        public async Task PromptsCutAfterTheQuestionMark_AreAnsweredOnlyWhenComplete()
        {
            // "Terminal type? " | pause | "[vt220] ": the first piece looks finished and even matches.
            // Production timings: the quiet period is far longer than the pauses of a serial line.
            var scenario = InstallTestData.Scenario(s => { s.SplitAtQuestionMark = true; s.ChunkDelay = TimeSpan.FromMilliseconds(5); });
            var settings = InstallTestData.FastSettings();
            settings.QuietPeriod = new InstallerConversationSettings().QuietPeriod;
            settings.UnknownPromptGrace = new InstallerConversationSettings().UnknownPromptGrace;
            using var run = new InstallerRun(scenario, InstallTestData.Options(), settings);
            await run.RunAsync();

            Assert.Empty(run.Simulator.Violations);
            Assert.True(run.Simulator.Result.Completed);
        }

        [Fact]
        public async Task BootLoaderPrompt_IsLeftAlone()
        {
            // "boot> " ends like a prompt and stays longer than the unknown-prompt grace.
            var scenario = InstallTestData.Scenario(s => s.BootLoaderWait = TimeSpan.FromSeconds(1.5));
            using var run = new InstallerRun(scenario, InstallTestData.Options());
            var result = await run.RunAsync();

            Assert.Empty(run.Simulator.Violations);
            Assert.Equal(InstallerPromptId.InstallUpgradeShell, result.Answered.First());
        }

        [Fact]
        public void InteractiveLayout_NeedsTheTemplateItself()
        {
            var options = InstallTestData.Options(o => o.DiskLayout = null);
            var ex = Assert.Throws<OpenBsdBuildException>(() => new InstallerConversation(Stream.Null, Stream.Null, options));
            Assert.Equal("InvalidParameter.DiskLayout", ex.ErrorId);
        }

        [Fact]
        public async Task UnknownPrompt_StopsWithTheTranscriptTail_AndTypesNothing()
        {
            var scenario = InstallTestData.Scenario(s =>
            {
                s.ExtraPrompt = "Use DUIDs rather than device names in fstab? [yes] ";
                s.ExtraPromptBefore = "Which disk is the root disk";
            });
            using var run = new InstallerRun(scenario, InstallTestData.Options());

            var ex = await Assert.ThrowsAsync<OpenBsdBuildException>(() => run.Conversation.RunAsync(run.Token));

            Assert.Equal("InstallerPromptUnknown", ex.ErrorId);
            Assert.Contains("Use DUIDs rather than device names in fstab? [yes]", ex.Message);
            Assert.Contains("End of the installer transcript:", ex.Message);
            Assert.Contains("Allow root ssh login? (yes, no, prohibit-password) [no]", ex.Message);
            Assert.DoesNotContain(InstallTestData.RootPassword, ex.Message);
            var entries = run.Conversation.Transcript.Entries;
            var lastSent = entries.Last(e => e.Direction == TranscriptDirection.Sent);
            Assert.Equal("prohibit-password", lastSent.Text);
            Assert.Empty(run.Simulator.Violations);
        }

        [Fact]
        public async Task SilentInstaller_TimesOut()
        {
            var scenario = InstallTestData.Scenario(s => s.StallBefore = "Which disk is the root disk");
            var settings = InstallTestData.FastSettings();
            // Long enough that a busy machine never times out an earlier prompt (seen in CI with 1 s).
            settings.PromptTimeout = TimeSpan.FromSeconds(5);
            using var run = new InstallerRun(scenario, InstallTestData.Options(), settings);

            var ex = await Assert.ThrowsAsync<OpenBsdBuildException>(() => run.Conversation.RunAsync(run.Token));

            Assert.Equal("InstallerPromptTimeout", ex.ErrorId);
            Assert.Equal(FailureKind.OperationTimeout, ex.Kind);
            Assert.Contains("Allow root ssh login?", ex.Message);
            Assert.Contains("Fetching http://10.0.2.2/disklabel.template", ex.Message);
        }

        [Fact]
        public async Task UnverifiedSets_WhenSignedSetsWereExpected_AreASecurityError()
        {
            var options = InstallTestData.Options(o => o.SetsVerification = SetsVerification.ByInstaller);
            var scenario = InstallTestData.Scenario(s => s.VerificationIssue = "Signature check of SHA256.sig failed");
            using var run = new InstallerRun(scenario, options);

            var ex = await Assert.ThrowsAsync<OpenBsdBuildException>(() => run.Conversation.RunAsync(run.Token));

            Assert.Equal("InstallSetsUnverified", ex.ErrorId);
            Assert.Equal(FailureKind.SecurityError, ex.Kind);
            Assert.Contains("Signature check of SHA256.sig failed", ex.Message);
        }

        [Fact]
        public async Task WrongSetsDisk_StopsWhenTheInstallerAsksAgain()
        {
            // The media is sd2 but the options say sd0: the simulator stops (no sets there) like a real
            // installer would loop; either way the conversation must end with an error, not hang or guess.
            var scenario = InstallTestData.Scenario(s => { s.Disks = new[] { "sd0", "sd1", "sd2" }; s.MediaDisk = "sd2"; });
            using var run = new InstallerRun(scenario, InstallTestData.Options());
            await Assert.ThrowsAsync<OpenBsdBuildException>(() => run.Conversation.RunAsync(run.Token));
            Assert.Contains(run.Simulator.Violations, v => v.Contains("does not hold the install media"));
        }

        [Fact]
        public async Task Cancellation_StopsTheConversation()
        {
            var scenario = InstallTestData.Scenario(s => s.StallBefore = "System hostname");
            using var run = new InstallerRun(scenario, InstallTestData.Options());
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.Conversation.RunAsync(cts.Token));
            Assert.Contains(run.Conversation.Transcript.Entries, e => e.Direction == TranscriptDirection.Note && e.Text == "cancelled");
        }

        [Fact]
        public void Catalog_RecognisesBothWordingsAndRejectsHalfPrompts()
        {
            Assert.Equal(InstallerPromptId.NetworkInterface,
                InstallerPrompts.Recognize("Network interface to configure? (name, lladdr, '?', or 'done') [vio0] ")!.Id);
            Assert.Equal(InstallerPromptId.NetworkInterface,
                InstallerPrompts.Recognize("Which network interface do you wish to configure? (or 'done') [vio0] ")!.Id);
            Assert.Equal("whole", InstallerPrompts.Recognize("Use (W)hole disk or (E)dit the MBR? [whole] ")!.Default);
            Assert.Equal(InstallerPromptId.WholeDisk, InstallerPrompts.Recognize("Use (W)hole disk MBR, whole disk (G)PT or (E)dit? [gpt] ")!.Id);
            Assert.Equal("Unverified sets: base76.tgz",
                InstallerPrompts.Recognize("Unverified sets: base76.tgz. Continue without verification? [no] ")!.Group("issue"));
            Assert.Equal("Somewhere on Earth", InstallerPrompts.Recognize("What timezone are you in? ('?' for list) [Somewhere on Earth] ")!.Default);
            Assert.Null(InstallerPrompts.Recognize("What timezone are you in? ('?' for list) ")!.Default);
            // Half a prompt, as it may sit in the buffer between two serial reads.
            Assert.Null(InstallerPrompts.Recognize("Password for root account? "));
            Assert.Null(InstallerPrompts.Recognize("Which disk is the root disk? "));
            Assert.True(InstallerPrompts.EndsLikePrompt("Password for root account? "));
            Assert.True(InstallerPrompts.EndsLikePrompt("sd1> "));
            Assert.False(InstallerPrompts.EndsLikePrompt("Making all device nodes..."));
        }
    }
}
