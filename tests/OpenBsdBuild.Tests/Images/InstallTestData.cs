using System;
using System.Collections.Generic;
using OpenBsdBuild.Images.Installer;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>Install options and timings shared by the image tests.</summary>
    internal static class InstallTestData
    {
        public const string RootKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOa5Hn3V0b1ZmE8f0v1y3pX3k2Qq7e9u3uKxq2Zb6r4W root@build-host";
        public const string UserKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHb7c2lW3f9m0Yq1c8aR4kZr0Xy5m2Nq8tP4vL6s1J0d builder@build-host";
        public const string RootPassword = "correct-horse-battery";
        public const string TemplateUrl = "http://10.0.2.2:8000/disklabel.template";

        /// <summary>A build image: root and a build user, key logins, the Rust layout, sets from installNN.img on sd0.</summary>
        public static InstallOptions Options(Action<InstallOptions>? change = null)
        {
            var options = new InstallOptions
            {
                Hostname = "obsd-build",
                RootPassword = RootPassword,
                RootPublicKey = RootKey,
                User = new InstallUser { LoginName = "builder", FullName = "Build User", PublicKey = UserKey },
                RootDisk = "sd1",
                Sets = new DiskSetsSource { Disk = "sd0", Partition = "a", Pathname = "7.6/arm64" },
                DiskLayout = DisklabelTemplate.ForRustBuild(),
                DiskLayoutUrl = TemplateUrl,
                // installNN.img has no SHA256.sig; the module verified the media before booting it.
                SetsVerification = SetsVerification.ByModule,
            };
            change?.Invoke(options);
            return options;
        }

        /// <summary>Fast timings. Safe because the simulator normally cuts prompts inside words, so no piece looks finished.</summary>
        public static InstallerConversationSettings FastSettings() => new InstallerConversationSettings
        {
            QuietPeriod = TimeSpan.FromMilliseconds(60),
            UnknownPromptGrace = TimeSpan.FromMilliseconds(800),
            FirstPromptTimeout = TimeSpan.FromSeconds(20),
            PromptTimeout = TimeSpan.FromSeconds(20),
            LongOperationTimeout = TimeSpan.FromSeconds(20),
        };

        /// <summary>A scenario that serves the Rust template to autoinstall.</summary>
        public static SimulatorScenario Scenario(Action<SimulatorScenario>? change = null)
        {
            var scenario = new SimulatorScenario();
            scenario.HttpFiles[TemplateUrl] = DisklabelTemplate.RustBuild.ToText();
            change?.Invoke(scenario);
            return scenario;
        }
    }
}
