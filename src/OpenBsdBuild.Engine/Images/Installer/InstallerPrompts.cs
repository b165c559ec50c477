using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>The questions of the OpenBSD installer that the interactive path knows how to answer.</summary>
    public enum InstallerPromptId
    {
        InstallUpgradeShell,
        TerminalType,
        KeyboardLayout,
        Hostname,
        NetworkInterface,
        Ipv4Address,
        Ipv6Address,
        DnsDomain,
        DnsNameservers,
        RootPassword,
        RootPasswordAgain,
        StartSshd,
        XWindowSystem,
        XenoDm,
        DefaultConsole,
        ConsoleSpeed,
        SetupUser,
        UserFullName,
        UserPassword,
        UserPasswordAgain,
        RootSshLogin,
        Timezone,
        RootDisk,
        EncryptRootDisk,
        WholeDisk,
        DiskLayout,
        InitializeDisk,
        SetsLocation,
        DiskAlreadyMounted,
        MediaDisk,
        MediaPartition,
        SetsPathname,
        HttpProxy,
        HttpServer,
        ServerDirectory,
        SetNames,
        ContinueWithoutVerification,
        ChecksumFailed,
        SetTransferFailed,
        TimeAppearsWrong,
        ExitInstaller,
    }

    /// <summary>How long the installer may take to ask the next question after this one is answered.</summary>
    public enum PromptWait
    {
        Short,
        /// <summary>The answer starts minutes of work: newfs of every partition, or fetching and unpacking sets.</summary>
        Long,
    }

    /// <summary>One known installer question: a pattern for the whole prompt line, anchored at both ends.</summary>
    public sealed class InstallerPrompt
    {
        internal InstallerPrompt(InstallerPromptId id, string variant, string pattern, bool secret, PromptWait wait)
        {
            Id = id;
            Variant = variant;
            Pattern = new Regex("^" + pattern + DefaultSuffix, RegexOptions.CultureInvariant);
            Secret = secret;
            WaitAfterAnswer = wait;
        }

        // install.sub _ask(): echo -n "${_q:+$_q }${_def:+[$_def] }", i.e. question, blank, optional [default], blank.
        private const string DefaultSuffix = @"(?: \[(?<def>[^\]]*)\])?\s*$";

        public InstallerPromptId Id { get; }
        /// <summary>Which wording this is, e.g. "2024" or "arm64 MBR".</summary>
        public string Variant { get; }
        public Regex Pattern { get; }
        /// <summary>The answer is a password: masked in the transcript.</summary>
        public bool Secret { get; }
        public PromptWait WaitAfterAnswer { get; }

        public override string ToString() => $"{Id} ({Variant}): {Pattern}";
    }

    /// <summary>A prompt line recognised as a known question.</summary>
    public sealed class InstallerPromptMatch
    {
        internal InstallerPromptMatch(InstallerPrompt prompt, string text, Match match)
        {
            Prompt = prompt;
            Text = text;
            _match = match;
        }

        private readonly Match _match;

        public InstallerPrompt Prompt { get; }
        public InstallerPromptId Id => Prompt.Id;
        /// <summary>The prompt as printed.</summary>
        public string Text { get; }
        /// <summary>The default shown in [brackets], or null when none is shown.</summary>
        public string? Default => Group("def");

        /// <summary>A named part of the prompt, e.g. "if" for the interface in "IPv4 address for vio0?".</summary>
        public string? Group(string name)
        {
            var g = _match.Groups[name];
            return g.Success ? g.Value : null;
        }
    }

    /// <summary>
    /// The catalog of installer prompts, from install.sub 1.1266 (2024-07) and the older wording in
    /// 2021–2023 copies, arm64 install.md 1.48 and amd64 install.md (docs/openbsd-notes.md). Patterns cover the
    /// complete prompt so that half a prompt, still arriving over the serial line, never matches.
    /// </summary>
    public static class InstallerPrompts
    {
        /// <summary>Printed by install.sub finish_up() when the install succeeded.</summary>
        public const string CompletionBanner = "CONGRATULATIONS!";

        private static InstallerPrompt P(InstallerPromptId id, string pattern, string variant = "all",
            bool secret = false, PromptWait wait = PromptWait.Short) =>
            new InstallerPrompt(id, variant, pattern, secret, wait);

        public static IReadOnlyList<InstallerPrompt> All { get; } = new[]
        {
            // dot.profile: no default; a 5 s auto-start only when netbooted or with /auto_install.conf.
            P(InstallerPromptId.InstallUpgradeShell, @"\(I\)nstall, \(U\)pgrade, \(A\)utoinstall or \(S\)hell\?"),
            // set_term(): serial console asks for the terminal, a framebuffer console for the keyboard.
            P(InstallerPromptId.TerminalType, @"Terminal type\?"),
            P(InstallerPromptId.KeyboardLayout, @"Choose your keyboard layout \('\?' or 'L' for list\)"),
            P(InstallerPromptId.Hostname, @"System hostname\? \(short form, e\.g\. '[^']*'\)"),
            // configure_ifs(): 2024 ask_until wording; older releases used ask_which.
            P(InstallerPromptId.NetworkInterface, @"Network interface to configure\? \(name, lladdr, '\?', or 'done'\)", "2024"),
            P(InstallerPromptId.NetworkInterface, @"Which network interface do you wish to configure\? \(or 'done'\)", "2023"),
            P(InstallerPromptId.Ipv4Address, @"IPv4 address for (?<if>[a-z]+[0-9]+)\? \(or '(?:autoconf|dhcp)' or 'none'\)"),
            P(InstallerPromptId.Ipv6Address, @"IPv6 address for (?<if>[a-z]+[0-9]+)\? \(or 'autoconf' or 'none'\)"),
            // donetconfig(): both skipped with a single DHCP interface (docs/openbsd-notes.md).
            P(InstallerPromptId.DnsDomain, @"DNS domain name\? \(e\.g\. '[^']*'\)"),
            P(InstallerPromptId.DnsNameservers, @"DNS nameservers\? \(IP address list or 'none'\)"),
            // ask_password(): interactive asks twice with "(will not echo)" / "(again)".
            P(InstallerPromptId.RootPassword, @"Password for root account\? \(will not echo\)", secret: true),
            P(InstallerPromptId.RootPasswordAgain, @"Password for root account\? \(again\)", secret: true),
            P(InstallerPromptId.StartSshd, @"Start sshd\(8\) by default\?"),
            // questions(): need a wsdisplay / MDXDM / CDEV; headless arm64 sees none (docs/openbsd-notes.md).
            P(InstallerPromptId.XWindowSystem, @"Do you expect to run the X Window System\?"),
            P(InstallerPromptId.XenoDm, @"Do you want the X Window System to be started by xenodm\(1\)\?"),
            P(InstallerPromptId.DefaultConsole, @"Change the default console to (?<dev>[a-z]+[0-9]+)\?"),
            P(InstallerPromptId.ConsoleSpeed, @"Which speed should (?<dev>[a-z]+[0-9]+) use\? \(or 'done'\)"),
            P(InstallerPromptId.SetupUser, @"Setup a user\? \(enter a lower-case loginname, or 'no'\)"),
            P(InstallerPromptId.UserFullName, @"Full name for user (?<user>[a-z][-a-z0-9_]*)\?"),
            P(InstallerPromptId.UserPassword, @"Password for user (?<user>[a-z][-a-z0-9_]*)\? \(will not echo\)", secret: true),
            P(InstallerPromptId.UserPasswordAgain, @"Password for user (?<user>[a-z][-a-z0-9_]*)\? \(again\)", secret: true),
            P(InstallerPromptId.RootSshLogin, @"Allow root ssh login\? \(yes, no, prohibit-password\)"),
            // set_timezone(): offline it is asked after the sets, with no default (docs/openbsd-notes.md).
            // Long: after the late question the installer relinks the kernel and runs fw_update.
            P(InstallerPromptId.Timezone, @"What timezone are you in\? \('\?' for list\)", wait: PromptWait.Long),
            P(InstallerPromptId.RootDisk, @"Which disk is the root disk\? \('\?' for details\)"),
            P(InstallerPromptId.EncryptRootDisk, @"Encrypt the root disk with a \(p\)assphrase or \(k\)eydisk\?"),
            // md_prep_fdisk(): arm64 "...or (E)dit the MBR/GPT?", amd64 "...MBR, whole disk (G)PT...".
            P(InstallerPromptId.WholeDisk, @"Use \(W\)hole disk[^?\r\n]*\?", "arm64/amd64, MBR/GPT"),
            P(InstallerPromptId.DiskLayout, @"Use \(A\)uto layout, \(E\)dit auto layout, or create \(C\)ustom layout\?", wait: PromptWait.Long),
            P(InstallerPromptId.InitializeDisk, @"Which disk do you wish to initialize\? \(or 'done'\)"),
            // install_sets(): the list shows cd0/nfs only when present.
            P(InstallerPromptId.SetsLocation, @"Location of sets\? \((?<locs>[^)]*)\)", wait: PromptWait.Long),
            // install_disk(): default 'no' for installs since 2024, 'yes' before (docs/openbsd-notes.md).
            P(InstallerPromptId.DiskAlreadyMounted, @"Is the disk partition already mounted\?"),
            P(InstallerPromptId.MediaDisk, @"Which disk contains the install media\? \(or 'done'\)"),
            P(InstallerPromptId.MediaPartition, @"Which (?<disk>[a-z]+[0-9]+) partition has the install sets\? \(or 'done'\)"),
            P(InstallerPromptId.SetsPathname, @"Pathname to the sets\? \(or 'done'\)", wait: PromptWait.Long),
            P(InstallerPromptId.HttpProxy, @"HTTP proxy URL\? \(e\.g\. 'http://proxy:8080', or 'none'\)"),
            P(InstallerPromptId.HttpServer, @"HTTP Server\? \((?:hostname, list#, 'done' or '\?'|hostname or 'done')\)"),
            P(InstallerPromptId.ServerDirectory, @"Server directory\?", wait: PromptWait.Long),
            P(InstallerPromptId.SetNames, @"Set name\(s\)\? \(or 'abort' or 'done'\)", wait: PromptWait.Long),
            // install_files(): "Directory does not contain SHA256.sig", "Signature check of SHA256.sig
            // failed", "Unverified sets: ...", "Cannot fetch SHA256.sig", ... + ". Continue without verification?"
            P(InstallerPromptId.ContinueWithoutVerification, @"(?<issue>[^\r\n]+)\. Continue without verification\?", wait: PromptWait.Long),
            P(InstallerPromptId.ChecksumFailed, @"Checksum test for (?<set>\S+) failed\. Continue anyway\?"),
            P(InstallerPromptId.SetTransferFailed, @"(?:Fetching|Installation) of (?<set>\S+) failed\. Continue anyway\?"),
            P(InstallerPromptId.TimeAppearsWrong, @"Time appears wrong\.  Set to '(?<time>[^']*)'\?", wait: PromptWait.Long),
            P(InstallerPromptId.ExitInstaller, @"Exit to \(S\)hell, \(H\)alt or \(R\)eboot\?"),
        };

        // A line that stops without a newline and ends like a question or a shell/editor prompt.
        private static readonly Regex PromptEnding = new Regex(@"(?:\?|[\]):>#$])\s*$", RegexOptions.CultureInvariant);

        /// <summary>True when text (the unfinished last line) ends like a prompt waiting for input.</summary>
        public static bool EndsLikePrompt(string text) => text.Trim().Length > 0 && PromptEnding.IsMatch(text);

        // Lines that end like a prompt but wait for nobody: the boot loader counts down and boots the
        // default kernel (bsd.rd on the install media) by itself; typing there could pick another.
        private static readonly Regex[] KnownWaits =
        {
            new Regex(@"^\s*boot> $", RegexOptions.CultureInvariant),
        };

        /// <summary>True for a prompt-like line that must be left alone, such as the boot loader's "boot> ".</summary>
        public static bool IsKnownWait(string text) => KnownWaits.Any(r => r.IsMatch(text));

        /// <summary>The known prompt <paramref name="text"/> is, or null.</summary>
        public static InstallerPromptMatch? Recognize(string text)
        {
            var line = text.TrimStart();
            foreach (var prompt in All)
            {
                var match = prompt.Pattern.Match(line);
                if (match.Success) return new InstallerPromptMatch(prompt, line, match);
            }
            return null;
        }

        public static IEnumerable<InstallerPrompt> Get(InstallerPromptId id) => All.Where(p => p.Id == id);
    }
}
