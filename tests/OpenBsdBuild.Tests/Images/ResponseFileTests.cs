using System.Linq;
using Xunit;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Installer;

namespace OpenBsdBuild.Tests.Images
{
    public class ResponseFileTests
    {
        [Fact]
        public void Build_WritesTheQuestionsInInstallerOrder()
        {
            var text = ResponseFile.Build(InstallTestData.Options()).ToText();

            var expected = new[]
            {
                "System hostname = obsd-build",
                "network interface = vio0",
                "IPv4 address for vio0 = autoconf",
                "IPv6 address for vio0 = none",
                "Password for root account = correct-horse-battery",
                "Public ssh key for root account = " + InstallTestData.RootKey,
                "Start sshd(8) by default = yes",
                "Do you expect to run the X Window System = no",
                "Setup a user = builder",
                "Full name for user builder = Build User",
                "Password for user builder = *************",
                "Public ssh key for user builder = " + InstallTestData.UserKey,
                "Allow root ssh login = prohibit-password",
                "What timezone are you in = UTC",
                "Which disk is the root disk = sd1",
                "URL to autopartitioning template for disklabel = " + InstallTestData.TemplateUrl,
                "Location of sets = disk",
                "Is the disk partition already mounted = no",
                "Which disk contains the install media = sd0",
                "Which sd0 partition has the install sets = a",
                "Pathname to the sets = 7.6/arm64",
                "Set name(s) = -x* -game*",
                "Set name(s) = done",
                "Continue without verification = yes",
            };
            Assert.Equal(string.Join("\n", expected) + "\n", text);
        }

        [Fact]
        public void Build_CoversTheMinimalUnattendedInstallOfFacts()
        {
            // docs/openbsd-notes.md: the lines a local-disk autoinstall cannot do without.
            var keys = ResponseFile.Build(InstallTestData.Options()).Keys.ToList();
            foreach (var required in new[] { "System hostname", "Password for root account", "Which disk is the root disk",
                         "Location of sets", "Is the disk partition already mounted", "Which disk contains the install media",
                         "Set name(s)", "Continue without verification", "What timezone are you in", "Allow root ssh login" })
                Assert.Contains(required, keys);
        }

        [Fact]
        public void Build_LeavesVerificationAloneForSignedSets()
        {
            var file = ResponseFile.Build(InstallTestData.Options(o => o.SetsVerification = SetsVerification.ByInstaller));
            Assert.DoesNotContain(file.Lines, l => l.Key.Contains("verification"));
        }

        [Fact]
        public void Build_HttpSetsAndCustomSelection()
        {
            var file = ResponseFile.Build(InstallTestData.Options(o =>
            {
                o.Sets = new HttpSetsSource { Server = "http://10.0.2.2:8000", Directory = "pub/OpenBSD/7.6/arm64" };
                o.SetSelections = new[] { "-x*", "-game* -man*" };
                o.User = null;
                o.RootPublicKey = null;
            }));
            var text = file.ToText();
            Assert.Contains("Location of sets = http\nHTTP proxy URL = none\nHTTP Server = http://10.0.2.2:8000\nServer directory = pub/OpenBSD/7.6/arm64\n", text);
            Assert.Contains("Set name(s) = -x*\nSet name(s) = -game* -man*\nSet name(s) = done\n", text);
            Assert.Contains("Setup a user = no\n", text);
            Assert.DoesNotContain("Public ssh key", text);
            Assert.DoesNotContain("Is the disk partition", text);
        }

        [Fact]
        public void MaskedText_HidesPasswords()
        {
            var file = ResponseFile.Build(InstallTestData.Options(o => o.User!.Password = "user-secret-1"));
            var masked = file.ToMaskedText();
            Assert.DoesNotContain(InstallTestData.RootPassword, masked);
            Assert.DoesNotContain("user-secret-1", masked);
            Assert.Contains("Password for root account = " + InstallerTranscript.Mask, masked);
            Assert.Equal(masked, file.ToString());
        }

        [Fact]
        public void Build_AcceptsHashAndDisabledPasswords()
        {
            var hash = "$2b$10$" + new string('a', 53);
            Assert.True(InstallPassword.IsHash(hash));
            var text = ResponseFile.Build(InstallTestData.Options(o => o.RootPassword = hash)).ToText();
            Assert.Contains("Password for root account = " + hash + "\n", text);
            Assert.Contains("Password for user builder = *************\n", text);
        }

        [Fact]
        public void Build_NeedsTheTemplateUrlForALayout()
        {
            var ex = Assert.Throws<OpenBsdBuildException>(() => ResponseFile.Build(InstallTestData.Options(o => o.DiskLayoutUrl = null)));
            Assert.Equal("InvalidParameter.DiskLayoutUrl", ex.ErrorId);
        }

        [Theory]
        [InlineData("Hostname")]
        [InlineData("RootDisk")]
        [InlineData("RootPublicKey")]
        [InlineData("BuildUser")]
        [InlineData("RootPassword")]
        [InlineData("Timezone")]
        public void Validate_RejectsBadValues(string parameter)
        {
            var options = InstallTestData.Options(o =>
            {
                switch (parameter)
                {
                    case "Hostname": o.Hostname = "two words"; break;
                    case "RootDisk": o.RootDisk = "sd0"; break; // the install media
                    case "RootPublicKey": o.RootPublicKey = "ssh-ed25519 AAAA 'quoted'"; break;
                    case "BuildUser": o.User!.LoginName = "root"; break;
                    case "RootPassword": o.RootPassword = ""; break;
                    case "Timezone": o.Timezone = "Mars Time"; break;
                }
            });
            var ex = Assert.Throws<OpenBsdBuildException>(() => ResponseFile.Build(options));
            Assert.Equal("InvalidParameter." + parameter, ex.ErrorId);
            Assert.Equal(FailureKind.InvalidArgument, ex.Kind);
            Assert.False(string.IsNullOrEmpty(ex.RecommendedAction));
        }

        [Fact]
        public void Keys_AreWordAlignedSubstringsOfBothWordings()
        {
            // install.sub _autorespond() matches keys on word boundaries, case-insensitively.
            Assert.True(InstallerSimulator.KeyMatches("network interface to configure? (name, lladdr, '?', or 'done')", ResponseFile.NetworkInterfaceKey));
            Assert.True(InstallerSimulator.KeyMatches("which network interface do you wish to configure?", ResponseFile.NetworkInterfaceKey));
            Assert.True(InstallerSimulator.KeyMatches("directory does not contain sha256.sig. continue without verification?", ResponseFile.ContinueUnverifiedKey.ToLowerInvariant()));
            Assert.True(InstallerSimulator.KeyMatches("signature check of sha256.sig failed. continue without verification?", ResponseFile.ContinueUnverifiedKey.ToLowerInvariant()));
            Assert.False(InstallerSimulator.KeyMatches("password for root accounts?", ResponseFile.RootPasswordKey.ToLowerInvariant()));
        }
    }
}
