using System;
using System.Linq;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Images.Installer;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>
    /// The interactive path against each installer variant (install.sub 1.1266 and the 2023 wording) A class of its own so that
    /// xUnit runs it next to the other installer tests; the runs mostly wait on the console.
    /// </summary>
    public class InstallerVariantTests
    {
        /// <summary>The system <see cref="InstallTestData.Options"/> describes, as the simulator records it.</summary>
        private static SimulatedInstall Expected(bool unverified = true, string setsFrom = "disk sd0a:7.6/arm64", string diskTable = "whole") => new SimulatedInstall
        {
            Hostname = "obsd-build",
            Network = "vio0 inet autoconf inet6 none",
            RootPassword = InstallTestData.RootPassword,
            RootAuthorizedKeys = InstallTestData.RootKey + "\n",
            StartSshd = true,
            RootSshLogin = "prohibit-password",
            User = "builder (Build User)",
            UserPassword = InstallPassword.Disabled,
            UserAuthorizedKeys = InstallTestData.UserKey + "\n",
            Timezone = "UTC",
            RootDisk = "sd1",
            DiskTable = diskTable,
            Layout = DisklabelTemplate.RustBuild.ToText(),
            SetsFrom = setsFrom,
            Sets = "bsd bsd.mp bsd.rd base76.tgz comp76.tgz man76.tgz",
            AcceptedUnverifiedSets = unverified,
            Completed = true,
        };

        public static TheoryData<string> Variants => new TheoryData<string>
        {
            "2024", "2023", "dns-asked", "timezone-early+clock", "signed-sets", "arm64-gpt", "amd64", "http",
        };

        internal static (SimulatorScenario, InstallOptions, SimulatedInstall) Variant(string name)
        {
            var scenario = InstallTestData.Scenario();
            var options = InstallTestData.Options();
            var expected = Expected();
            switch (name)
            {
                case "2023": scenario.Wording = InstallerWording.Release2023; break;
                case "dns-asked": scenario.SingleDhcpInterface = false; break;
                case "timezone-early+clock": scenario.TimezoneHint = "Europe/Amsterdam"; scenario.ClockWrong = true; break;
                case "signed-sets":
                    scenario.SetsSigned = true;
                    options.SetsVerification = SetsVerification.ByInstaller;
                    expected = Expected(unverified: false);
                    break;
                case "arm64-gpt": scenario.DiskStyle = DiskPromptStyle.Arm64Gpt; break;
                case "amd64":
                    scenario.DiskStyle = DiskPromptStyle.Amd64;
                    scenario.Arch = "amd64";
                    scenario.AskXWindow = true;
                    options.Sets = new DiskSetsSource { Disk = "sd0", Partition = "a", Pathname = "7.6/amd64" };
                    expected = Expected(setsFrom: "disk sd0a:7.6/amd64", diskTable: "gpt");
                    break;
                case "http":
                    options.Sets = new HttpSetsSource { Server = "http://10.0.2.2:8000", Directory = "pub/OpenBSD/7.6/arm64" };
                    expected = Expected(setsFrom: "http http://10.0.2.2:8000/pub/OpenBSD/7.6/arm64");
                    break;
            }
            return (scenario, options, expected);
        }

        [Theory]
        [MemberData(nameof(Variants))]
        public async Task Installs_EachInstallerVariant(string variant)
        {
            var (scenario, options, expected) = Variant(variant);
            using var run = new InstallerRun(scenario, options);

            var result = await run.RunAsync();

            Assert.Empty(run.Simulator.Violations);
            Assert.Equal(expected, run.Simulator.Result);
            Assert.Equal("reboot", run.Simulator.FinishedWith);
            Assert.Equal(InstallerPromptId.ExitInstaller, result.Answered.Last());
            // DNS questions only when DHCP did not settle them (docs/openbsd-notes.md).
            Assert.Equal(!scenario.SingleDhcpInterface, result.Answered.Contains(InstallerPromptId.DnsDomain));
            var wording = scenario.Wording == InstallerWording.Release2024 ? "2024" : "2023";
            Assert.Contains(result.Transcript.Entries, e => e.Direction == TranscriptDirection.Note && e.Text == $"prompt NetworkInterface ({wording})");
        }

    }
}
