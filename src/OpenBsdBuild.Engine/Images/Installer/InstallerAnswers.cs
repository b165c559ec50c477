using System;
using System.Collections.Generic;
using System.Linq;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Media;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>What to type at one prompt.</summary>
    internal sealed class PromptAnswer
    {
        public PromptAnswer(string text, bool secret = false, bool final = false)
        {
            Text = text;
            Secret = secret;
            Final = final;
        }

        public string Text { get; }
        public bool Secret { get; }
        /// <summary>The last answer: the installer exits after it.</summary>
        public bool Final { get; }
    }

    /// <summary>
    /// Maps recognised prompts to answers taken from <see cref="InstallOptions"/>, mirroring what
    /// <see cref="ResponseFile"/> writes, and keeps the little state the installer's loops need
    /// (interface done, set lines used, sets installed). Anything that does not fit the plan stops
    /// the install instead of guessing.
    /// </summary>
    internal sealed class InstallerAnswers
    {
        private readonly InstallOptions _options;
        private readonly Queue<string> _setSelections;
        private readonly Queue<string> _layoutCommands;
        private readonly Queue<string> _exitCommands;
        private readonly HashSet<string> _configuredInterfaces = new HashSet<string>();
        private bool _locationAnswered;
        private bool _setsChosen;

        public InstallerAnswers(InstallOptions options)
        {
            _options = options;
            _setSelections = new Queue<string>(options.EffectiveSetSelections());
            _layoutCommands = new Queue<string>(options.DiskLayout == null
                ? Array.Empty<string>()
                : InstallerShellEscape.ApplyDisklabelTemplate(options.DiskLayout, options.RootDisk));
            // Autoinstall has questions for the public keys; interactively they are appended from
            // the installer shell at the final prompt, before the reboot.
            var exit = new List<string>();
            if (options.RootPublicKey != null)
                exit.AddRange(InstallerShellEscape.AppendAuthorizedKey(InstallerShellEscape.RootAuthorizedKeys, options.RootPublicKey));
            if (options.User?.PublicKey != null)
                exit.AddRange(InstallerShellEscape.AppendAuthorizedKey(
                    InstallerShellEscape.UserAuthorizedKeys(options.User.LoginName), options.User.PublicKey));
            _exitCommands = new Queue<string>(exit);
        }

        /// <summary>The last answer for <see cref="InstallFinishAction.Halt"/>.</summary>
        internal const string PowerDownEscape = "!halt -p";

        /// <summary>Set by the conversation when the CONGRATULATIONS banner went by.</summary>
        public bool InstallCompleted { get; set; }

        public PromptAnswer Answer(InstallerPromptMatch prompt)
        {
            var o = _options;
            switch (prompt.Id)
            {
                case InstallerPromptId.InstallUpgradeShell: return new PromptAnswer("I");
                case InstallerPromptId.TerminalType: return new PromptAnswer(o.TerminalType);
                case InstallerPromptId.KeyboardLayout: return new PromptAnswer("default");
                case InstallerPromptId.Hostname: return new PromptAnswer(o.Hostname);

                case InstallerPromptId.NetworkInterface:
                    // First time our interface; the question then repeats with default 'done'.
                    if (_configuredInterfaces.Count == 0)
                    {
                        _configuredInterfaces.Add(o.NetworkInterface);
                        return new PromptAnswer(o.NetworkInterface);
                    }
                    return new PromptAnswer("done");
                case InstallerPromptId.Ipv4Address:
                    RequireOurInterface(prompt);
                    return new PromptAnswer("autoconf");
                case InstallerPromptId.Ipv6Address:
                    RequireOurInterface(prompt);
                    return new PromptAnswer("none");
                // Asked only when DHCP did not provide them; autoinstall takes the defaults too.
                case InstallerPromptId.DnsDomain:
                case InstallerPromptId.DnsNameservers:
                    return new PromptAnswer(prompt.Default ?? "");

                case InstallerPromptId.RootPassword:
                case InstallerPromptId.RootPasswordAgain:
                    return new PromptAnswer(o.RootPassword, secret: true);
                case InstallerPromptId.StartSshd: return new PromptAnswer(o.StartSshd ? "yes" : "no");
                case InstallerPromptId.XWindowSystem: return new PromptAnswer("no");
                case InstallerPromptId.XenoDm: return new PromptAnswer("no");
                // Not in the response file either: both paths keep the installer's choice.
                case InstallerPromptId.DefaultConsole:
                case InstallerPromptId.ConsoleSpeed:
                    return new PromptAnswer(prompt.Default ?? throw Unexpected(prompt, "it shows no default"));

                case InstallerPromptId.SetupUser: return new PromptAnswer(o.User?.LoginName ?? "no");
                case InstallerPromptId.UserFullName:
                    return new PromptAnswer(RequireOurUser(prompt).EffectiveFullName);
                case InstallerPromptId.UserPassword:
                case InstallerPromptId.UserPasswordAgain:
                    return new PromptAnswer(RequireOurUser(prompt).Password, secret: true);
                case InstallerPromptId.RootSshLogin: return new PromptAnswer(o.RootSshLogin);
                case InstallerPromptId.Timezone: return new PromptAnswer(o.Timezone);

                case InstallerPromptId.RootDisk: return new PromptAnswer(o.RootDisk);
                case InstallerPromptId.EncryptRootDisk: return new PromptAnswer("no");
                // Whole disk with the platform's default table (arm64: MBR); autoinstall uses the default too.
                case InstallerPromptId.WholeDisk:
                    return new PromptAnswer(prompt.Default ?? "whole");
                case InstallerPromptId.DiskLayout:
                    if (o.DiskLayout == null) return new PromptAnswer("a");
                    return new PromptAnswer(_layoutCommands.Count > 0 ? _layoutCommands.Dequeue() : "c");
                case InstallerPromptId.InitializeDisk: return new PromptAnswer("done");

                case InstallerPromptId.SetsLocation: return AnswerLocation(prompt);
                case InstallerPromptId.DiskAlreadyMounted:
                    RequireDiskSets(prompt);
                    return new PromptAnswer("no");
                case InstallerPromptId.MediaDisk:
                    return new PromptAnswer(RequireDiskSets(prompt).Disk);
                case InstallerPromptId.MediaPartition:
                {
                    var disk = RequireDiskSets(prompt);
                    if (prompt.Group("disk") != disk.Disk) throw Unexpected(prompt, $"the sets are on {disk.Disk}");
                    return new PromptAnswer(disk.Partition ?? prompt.Default ?? throw Unexpected(prompt, "it shows no default"));
                }
                case InstallerPromptId.SetsPathname:
                    return new PromptAnswer(RequireDiskSets(prompt).Pathname ?? prompt.Default ?? throw Unexpected(prompt, "it shows no default"));
                case InstallerPromptId.HttpProxy: return new PromptAnswer(RequireHttpSets(prompt).Proxy ?? "none");
                case InstallerPromptId.HttpServer: return new PromptAnswer(RequireHttpSets(prompt).Server);
                case InstallerPromptId.ServerDirectory:
                    return new PromptAnswer(RequireHttpSets(prompt).Directory ?? prompt.Default ?? throw Unexpected(prompt, "it shows no default"));
                case InstallerPromptId.SetNames:
                {
                    var selection = _setSelections.Count > 0 ? _setSelections.Dequeue() : "done";
                    if (selection.Equals("done", StringComparison.OrdinalIgnoreCase)) _setsChosen = true;
                    return new PromptAnswer(selection);
                }

                case InstallerPromptId.ContinueWithoutVerification:
                    if (o.SetsVerification != SetsVerification.ByModule)
                        throw new OpenBsdBuildException("InstallSetsUnverified", FailureKind.SecurityError,
                            $"The installer could not verify the sets ({prompt.Group("issue")}), but they were expected to be signed. The install was stopped.",
                            prompt.Text, "Check that the sets and SHA256.sig come from an OpenBSD mirror for this release and were not modified.");
                    return new PromptAnswer("yes");
                case InstallerPromptId.ChecksumFailed:
                    throw new OpenBsdBuildException("InstallSetChecksumFailed", FailureKind.SecurityError,
                        $"The installer reports a checksum mismatch for {prompt.Group("set")}. The install was stopped.",
                        prompt.Group("set"), "Download the sets again from a trusted mirror and verify them with Signify.");
                case InstallerPromptId.SetTransferFailed:
                    throw new OpenBsdBuildException("InstallSetFailed", FailureKind.InvalidOperation,
                        $"The installer could not fetch or unpack {prompt.Group("set")}.", prompt.Group("set"),
                        "Check that the set location is complete and reachable from the guest.");
                case InstallerPromptId.TimeAppearsWrong: return new PromptAnswer("yes");

                case InstallerPromptId.ExitInstaller:
                    if (!InstallCompleted)
                        throw new OpenBsdBuildException("InstallerNotCompleted", FailureKind.InvalidOperation,
                            "The installer offered to exit without reporting a completed install.", prompt.Text,
                            "Look at the transcript for the installer's error message.");
                    if (_exitCommands.Count > 0) return new PromptAnswer(_exitCommands.Dequeue());
                    // "halt" leaves an arm64 guest at "Please press any key to reboot." (machdep.c boot()), and
                    // QEMU never exits; halt -p, run through the prompt's '!' escape, powers it down.
                    return new PromptAnswer(_options.FinishAction == InstallFinishAction.Halt ? PowerDownEscape : "reboot", final: true);
            }
            throw Unexpected(prompt, "no answer is defined for it");
        }

        private PromptAnswer AnswerLocation(InstallerPromptMatch prompt)
        {
            // After the set selection ended, the loop asks again with default 'done'.
            if (_setsChosen) return new PromptAnswer("done");
            // Asked again before that means the previous attempt failed (wrong disk, path or server).
            if (_locationAnswered)
                throw new OpenBsdBuildException("InstallerSetsNotFound", FailureKind.ObjectNotFound,
                    "The installer asked for the location of the sets again: it did not find sets where they were expected.",
                    _options.Sets.LocationAnswer, "Check the set disk, partition and path (or HTTP server and directory).");
            var offered = (prompt.Group("locs") ?? "").Split(' ');
            if (!offered.Contains(_options.Sets.LocationAnswer))
                throw Unexpected(prompt, $"'{_options.Sets.LocationAnswer}' is not offered");
            _locationAnswered = true;
            return new PromptAnswer(_options.Sets.LocationAnswer);
        }

        private void RequireOurInterface(InstallerPromptMatch prompt)
        {
            if (!_configuredInterfaces.Contains(prompt.Group("if") ?? ""))
                throw Unexpected(prompt, $"only {_options.NetworkInterface} is configured");
        }

        private InstallUser RequireOurUser(InstallerPromptMatch prompt)
        {
            var user = _options.User;
            if (user == null || prompt.Group("user") != user.LoginName)
                throw Unexpected(prompt, user == null ? "no user is set up" : $"the user is {user.LoginName}");
            return user;
        }

        private DiskSetsSource RequireDiskSets(InstallerPromptMatch prompt) =>
            _options.Sets as DiskSetsSource ?? throw Unexpected(prompt, "the sets do not come from a disk");

        private HttpSetsSource RequireHttpSets(InstallerPromptMatch prompt) =>
            _options.Sets as HttpSetsSource ?? throw Unexpected(prompt, "the sets do not come over HTTP");

        private static OpenBsdBuildException Unexpected(InstallerPromptMatch prompt, string why) =>
            new OpenBsdBuildException("InstallerPromptUnexpected", FailureKind.InvalidOperation,
                $"The installer asked '{prompt.Text.Trim()}', which does not fit this install: {why}.", prompt.Text,
                "Check the install options against the guest's disks and network, or install with a response file.");
    }
}
