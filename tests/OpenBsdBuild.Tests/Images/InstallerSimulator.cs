using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>Wording of install.sub: 2024 (1.1266) or the 2023 release.</summary>
    public enum InstallerWording
    {
        Release2023,
        Release2024,
    }

    /// <summary>What md_prep_fdisk() asks for a blank disk.</summary>
    public enum DiskPromptStyle
    {
        Arm64Mbr,
        Arm64Gpt,
        Amd64,
    }

    /// <summary>The knobs that make one installer run differ from another (docs/openbsd-notes.md).</summary>
    public sealed class SimulatorScenario
    {
        public InstallerWording Wording { get; set; } = InstallerWording.Release2024;
        /// <summary>One DHCP interface that supplied domain and nameservers: the DNS questions are skipped.</summary>
        public bool SingleDhcpInterface { get; set; } = true;
        /// <summary>Null: no hint (offline), timezone asked after the sets with no default. Else asked early with this default.</summary>
        public string? TimezoneHint { get; set; }
        public bool ClockWrong { get; set; }
        /// <summary>A valid SHA256.sig is next to the sets: no "Continue without verification?".</summary>
        public bool SetsSigned { get; set; }
        /// <summary>The text before ". Continue without verification?" when the sets are not verified.</summary>
        public string VerificationIssue { get; set; } = "Directory does not contain SHA256.sig";
        public DiskPromptStyle DiskStyle { get; set; } = DiskPromptStyle.Arm64Mbr;
        /// <summary>A framebuffer with "aperture needed" (amd64): the X question is asked.</summary>
        public bool AskXWindow { get; set; }
        /// <summary>installNN.img has an ffs 'a' and an MSDOS 'i' partition, so the partition is asked.</summary>
        public bool MediaHasSeveralPartitions { get; set; } = true;
        public string MediaDisk { get; set; } = "sd0";
        public string[] Disks { get; set; } = { "sd0", "sd1" };
        public string Version { get; set; } = "7.6";
        public string Arch { get; set; } = "arm64";
        /// <summary>An extra prompt printed just before the question that starts with <see cref="ExtraPromptBefore"/>.</summary>
        public string? ExtraPrompt { get; set; }
        public string? ExtraPromptBefore { get; set; }
        /// <summary>Go silent just before the question that starts with this.</summary>
        public string? StallBefore { get; set; }
        /// <summary>How long the boot loader sits at "boot> " (the real one counts down 5 s).</summary>
        public TimeSpan BootLoaderWait { get; set; } = TimeSpan.FromMilliseconds(200);
        /// <summary>Pause between the pieces of one prompt, as a serial line delivers them.</summary>
        public TimeSpan ChunkDelay { get; set; } = TimeSpan.FromMilliseconds(15);
        /// <summary>Cut prompts right after "? " (the hardest case for a driver) instead of inside words.</summary>
        public bool SplitAtQuestionMark { get; set; }
        /// <summary>Files the guest can fetch over HTTP (autopartitioning templates).</summary>
        public Dictionary<string, string> HttpFiles { get; } = new Dictionary<string, string>();

        public string ShortVersion => Version.Replace(".", "");
        public string SetsPath => $"{Version}/{Arch}";
    }

    /// <summary>The system a simulated run installed; both install paths should give equal values.</summary>
    public sealed record SimulatedInstall
    {
        public string Hostname { get; init; } = "";
        public string Network { get; init; } = "";
        public string RootPassword { get; init; } = "";
        public string RootAuthorizedKeys { get; init; } = "";
        public bool StartSshd { get; init; }
        public string RootSshLogin { get; init; } = "";
        public string User { get; init; } = "";
        public string UserPassword { get; init; } = "";
        public string UserAuthorizedKeys { get; init; } = "";
        public string Timezone { get; init; } = "";
        public string RootDisk { get; init; } = "";
        public string DiskTable { get; init; } = "";
        /// <summary>The disklabel template text, or "auto".</summary>
        public string Layout { get; init; } = "";
        public string SetsFrom { get; init; } = "";
        public string Sets { get; init; } = "";
        public bool AcceptedUnverifiedSets { get; init; }
        public bool Completed { get; init; }
    }

    /// <summary>A response-file line the simulated autoinstall used, and the question that used it.</summary>
    public sealed record ConsumedLine(int LineNumber, string Key, string Answer, string Question);

    /// <summary>
    /// Speaks like the OpenBSD installer (install.sub 1.1266 and the 2023 wording, arm64/amd64
    /// install.md): boot chatter, then the questions install.sub asks, in order, each printed in pieces
    /// the way they reach a serial console. Interactive runs read answers from a stream and record a
    /// violation when something is typed before a prompt has fully appeared, or when an answer does
    /// not fit the question; the run then stops. Autoinstall runs answer from a response file with
    /// install.sub's _autorespond() rules, which checks response files against the same prompts.
    /// </summary>
    public sealed class InstallerSimulator
    {
        private readonly SimulatorScenario _s;
        private readonly Stream? _console;
        private readonly Stream? _keyboard;
        private readonly List<(string Key, string Answer, int Number)>? _responses;
        private readonly object _gate = new object();
        private readonly StringBuilder _typed = new StringBuilder();
        private readonly SemaphoreSlim _typedSignal = new SemaphoreSlim(0);
        private readonly StringBuilder _output = new StringBuilder();
        private readonly List<string> _violations = new List<string>();
        private readonly List<string> _questions = new List<string>();
        private readonly List<ConsumedLine> _consumed = new List<ConsumedLine>();
        private readonly List<string> _escapes = new List<string>();
        private readonly Dictionary<string, string> _files = new Dictionary<string, string>();
        private bool _awaitingInput;
        private bool _extraShown;
        private string _lastOutput = "";

        // What the answers built up, for Result.
        private string _hostname = "", _network = "", _rootPassword = "", _rootKeys = "", _rootLogin = "no";
        private string _user = "", _userPassword = "", _userKeys = "", _timezone = "", _rootDisk = "", _diskTable = "";
        private string _layout = "auto", _setsFrom = "", _sets = "";
        private bool _sshd, _unverified, _completed;
        private string? _userLogin;

        private InstallerSimulator(SimulatorScenario scenario, Stream? console, Stream? keyboard, string? responseFile)
        {
            _s = scenario;
            _console = console;
            _keyboard = keyboard;
            if (responseFile != null) _responses = ParseResponseFile(responseFile);
        }

        /// <summary>An interactive installer: prints to <paramref name="console"/>, reads typed answers from <paramref name="keyboard"/>.</summary>
        public static InstallerSimulator Interactive(SimulatorScenario scenario, Stream console, Stream keyboard) =>
            new InstallerSimulator(scenario, console, keyboard, null);

        /// <summary>An autoinstall run answering from <paramref name="responseFile"/>.</summary>
        public static InstallerSimulator Autoinstall(SimulatorScenario scenario, string responseFile) =>
            new InstallerSimulator(scenario, null, null, responseFile);

        private bool Ai => _responses != null;

        public IReadOnlyList<string> Violations { get { lock (_gate) return _violations.ToList(); } }
        /// <summary>The questions asked, as passed to install.sub's ask functions.</summary>
        public IReadOnlyList<string> Questions { get { lock (_gate) return _questions.ToList(); } }
        public IReadOnlyList<ConsumedLine> ConsumedLines => _consumed;
        /// <summary>Response-file lines no question used.</summary>
        public IReadOnlyList<string> UnusedLines => _responses?.Select(r => $"{r.Key} = {r.Answer}").ToList() ?? new List<string>();
        public IReadOnlyList<string> ShellEscapes => _escapes;
        /// <summary>Everything printed (autoinstall runs have no console stream).</summary>
        public string Output { get { lock (_gate) return _output.ToString(); } }
        /// <summary>"reboot", "halt" (after a key at "Please press any key to reboot."), "powerdown" or null.</summary>
        public string? FinishedWith { get; private set; }

        public SimulatedInstall Result => new SimulatedInstall
        {
            Hostname = _hostname, Network = _network, RootPassword = _rootPassword, RootAuthorizedKeys = _rootKeys,
            StartSshd = _sshd, RootSshLogin = _rootLogin, User = _user, UserPassword = _userPassword,
            UserAuthorizedKeys = _userKeys, Timezone = _timezone, RootDisk = _rootDisk, DiskTable = _diskTable,
            Layout = _layout, SetsFrom = _setsFrom, Sets = _sets, AcceptedUnverifiedSets = _unverified, Completed = _completed,
        };

        /// <summary>Runs the installer until it exits, a violation stops it, or it is cancelled.</summary>
        public async Task RunAsync(CancellationToken cancellationToken)
        {
            Task? reader = null;
            if (!Ai) reader = Task.Run(() => ReadKeyboardAsync(cancellationToken));
            try
            {
                await InstallAsync(cancellationToken);
            }
            catch (SystemWentDown)
            {
                // Halted or powered down from a '!' escape.
            }
            catch (SimulationStopped)
            {
                // Recorded as a violation; the console closes like a crashed installer.
            }
            catch (OperationCanceledException)
            {
                // The test is done with this installer.
            }
            finally
            {
                _console?.Dispose();
            }
        }

        // ---------------------------------------------------------------- the install, in install.sub order

        private async Task InstallAsync(CancellationToken ct)
        {
            // The boot loader waits at "boot> " before booting the default kernel by itself.
            await Write("\u001b[2J\u001b[H>> OpenBSD/" + _s.Arch + " BOOTAA64 1.19\r\nboot> ", ct);
            await Task.Delay(_s.BootLoaderWait, ct);
            await Chatter(ct,
                "",
                "booting sd0a:/bsd.rd: 3171788+1268584+12705160+766864 [233953+109+459624+257157]=0x1310ae0",
                "[ using 951888 bytes of bsd ELF symbol table ]",
                "Copyright (c) 1982, 1986, 1989, 1991, 1993",
                $"OpenBSD {_s.Version} (RAMDISK) #123: Mon Sep 30 08:00:00 MDT 2024",
                "real mem  = 4294967296 (4096MB)",
                $"{_s.Disks[0]} at scsibus0 targ 0 lun 0: <VirtIO, Block Device, >",
                $"{_s.Disks[0]}: 512MB, 512 bytes/sector, 1048576 sectors",
                $"{_s.Disks[1]} at scsibus1 targ 0 lun 0: <VirtIO, Block Device, >",
                $"{_s.Disks[1]}: 32768MB, 512 bytes/sector, 67108864 sectors",
                "vio0 at virtio1: address 52:54:00:12:34:56",
                "root on rd0a swap on rd0b dump on rd0b",
                "erase ^?, werase ^W, kill ^U, intr ^C, status ^T",
                "",
                $"Welcome to the OpenBSD/{_s.Arch} {_s.Version} installation program.");

            if (!Ai)
            {
                // dot.profile: read REPLY?'(I)nstall, (U)pgrade, (A)utoinstall or (S)hell? '
                await AskRaw("(I)nstall, (U)pgrade, (A)utoinstall or (S)hell? ", "(I)nstall, (U)pgrade, (A)utoinstall or (S)hell?", a => a == "i" || a == "I", ct);
                await Chatter(ct,
                    "At any prompt except password prompts you can escape to a shell by",
                    "typing '!'. Default answers are shown in []'s and are selected by",
                    "pressing RETURN.  You can exit this program at any time by pressing",
                    "Control-C, but this can leave your system in an inconsistent state.",
                    "");
            }
            else
            {
                await Chatter(ct, "Performing non-interactive install...");
            }

            await Ask("Terminal type?", "vt220", a => Regex.IsMatch(a, "^(vt[0-9]+|xterm|dumb|ansi)$"), ct);
            _hostname = await AskUntil("System hostname? (short form, e.g. 'foo')", null,
                a => Regex.IsMatch(a, "^[A-Za-z0-9][A-Za-z0-9.-]*$"), ct);
            await Chatter(ct, "");

            await ConfigureNetwork(ct);

            // Root password: asked twice interactively, once (and required) in autoinstall.
            _rootPassword = await AskPassword("Password for root account?", ct);
            if (Ai)
            {
                var key = await Ask("Public ssh key for root account?", "none", IsKeyOrNone, ct);
                if (key != "none") _rootKeys += key + "\n";
            }

            _sshd = Yes(await AskYesNo("Start sshd(8) by default?", "yes", ct));
            if (_s.AskXWindow) await AskYesNo("Do you expect to run the X Window System?", "yes", ct);

            await SetupUser(ct);

            if (_sshd)
            {
                if (_userLogin == null) await Chatter(ct, "Since no user was setup, root logins via sshd(8) might be useful.");
                await Chatter(ct, "WARNING: root is targeted by password guessing attacks, pubkeys are safer.");
                var login = await Ask("Allow root ssh login? (yes, no, prohibit-password)", "no",
                    a => Regex.IsMatch(a, "^(y|yes|n|no|w|p|without-password|prohibit-password)$"), ct);
                _rootLogin = login switch { "y" => "yes", "n" => "no", "w" or "p" or "without-password" => "prohibit-password", _ => login };
            }

            if (_s.TimezoneHint != null) await AskTimezone(_s.TimezoneHint, ct);

            await PrepareRootDisk(ct);
            await InstallSets(ct);

            if (_s.TimezoneHint == null)
            {
                await Chatter(ct, "");
                await AskTimezone(null, ct);
            }
            if (_s.ClockWrong)
                await AskYesNo("Time appears wrong.  Set to 'Sun Nov 23 10:52:41 UTC 2026'?", "yes", ct);

            await Chatter(ct,
                "Saving configuration files... done.",
                "Making all device nodes... done.",
                "Multiprocessor machine; using bsd.mp instead of bsd.",
                "fw_update: add none; update none",
                "Relinking to create unique kernel... done.",
                "",
                "CONGRATULATIONS! Your OpenBSD install has been successfully completed!",
                "",
                "When you login to your new system the first time, please read your mail",
                "using the 'mail' command.",
                "");
            _completed = true;
            // The new system is still mounted on /mnt until the reboot.
            _files.TryAdd("/mnt/root/.ssh/authorized_keys", "");
            if (_userLogin != null) _files.TryAdd($"/mnt/home/{_userLogin}/.ssh/authorized_keys", "");

            if (Ai)
            {
                await Chatter(ct, "syncing disks... done", "rebooting...");
                FinishedWith = "reboot";
                return;
            }
            try
            {
                var exit = await Ask("Exit to (S)hell, (H)alt or (R)eboot?", "reboot", a => Regex.IsMatch(a, "^[hHrR]"), ct);
                KeepAuthorizedKeys();
                if (exit.StartsWith("h", StringComparison.OrdinalIgnoreCase)) await HaltAsync(powerDown: false, ct);
                else await RebootAsync(ct);
            }
            catch (SystemWentDown)
            {
                // A '!halt -p' at the last question: the machine is off.
            }
        }

        private void KeepAuthorizedKeys()
        {
            _rootKeys += FileText("/mnt/root/.ssh/authorized_keys");
            if (_userLogin != null) _userKeys += FileText($"/mnt/home/{_userLogin}/.ssh/authorized_keys");
        }

        private async Task RebootAsync(CancellationToken ct)
        {
            await Chatter(ct, "syncing disks... done", "rebooting...");
            FinishedWith = "reboot";
        }

        /// <summary>
        /// halt(8) on arm64 (sys/arch/arm64/arm64/machdep.c boot()): with -p the machine powers down (QEMU
        /// exits); without it the kernel prints that it halted and waits for a key on the console, then
        /// resets (QEMU with -no-reboot exits only then).
        /// </summary>
        private async Task HaltAsync(bool powerDown, CancellationToken ct)
        {
            await Chatter(ct, "syncing disks... done");
            if (powerDown)
            {
                await Chatter(ct, "", "Attempting to power down...");
                FinishedWith = "powerdown";
                return;
            }
            await Chatter(ct, "", "The operating system has halted.", "Please press any key to reboot.", "");
            await ReadKey(ct);
            await Chatter(ct, "rebooting...");
            FinishedWith = "halt";
        }

        private async Task ConfigureNetwork(CancellationToken ct)
        {
            var def = "vio0";
            var configured = new List<string>();
            while (true)
            {
                await Chatter(ct, "Available network interfaces are: vio0 vlan0.");
                string answer;
                if (_s.Wording == InstallerWording.Release2024)
                    answer = await AskUntil("Network interface to configure? (name, lladdr, '?', or 'done')", def,
                        a => a is "vio0" or "done" or "52:54:00:12:34:56", ct);
                else
                    answer = await AskWhich("network interface", "do you wish to configure", def,
                        a => a is "vio0" or "done", ct);
                if (answer == "done") break;
                var v4 = await AskUntil("IPv4 address for vio0? (or 'autoconf' or 'none')", "autoconf",
                    a => Regex.IsMatch(a, @"^(a|autoconf|dhcp|none|[0-9.]+(/[0-9]+)?)$"), ct);
                var v6 = await AskUntil("IPv6 address for vio0? (or 'autoconf' or 'none')", "none",
                    a => Regex.IsMatch(a, @"^(a|autoconf|none|[0-9a-fA-F:]+(/[0-9]+)?)$"), ct);
                configured.Add($"vio0 inet {(v4 is "a" or "dhcp" ? "autoconf" : v4)} inet6 {v6}");
                def = "done";
            }
            _network = string.Join("; ", configured);
            await Chatter(ct, "");
            if (_s.SingleDhcpInterface && configured.Count == 1 && configured[0].Contains("inet autoconf"))
            {
                await Chatter(ct, "Using DNS domainname my.domain", "Using DNS nameservers at 10.0.2.3");
            }
            else
            {
                await Ask("DNS domain name? (e.g. 'example.com')", "my.domain",
                    a => Regex.IsMatch(a, @"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$"), ct);
                await Ask("DNS nameservers? (IP address list or 'none')", "10.0.2.3",
                    a => a == "none" || Regex.IsMatch(a, @"^[0-9a-fA-F.:]+( [0-9a-fA-F.:]+)*$"), ct);
            }
            await Chatter(ct, "");
        }

        private async Task SetupUser(CancellationToken ct)
        {
            var login = await Ask("Setup a user? (enter a lower-case loginname, or 'no')", "no",
                a => a is "no" or "n" || (Regex.IsMatch(a, "^[a-z][-a-z0-9_]{0,30}$") && a is not ("y" or "yes" or "root" or "build")), ct);
            if (login is "no" or "n") return;
            _userLogin = login;
            var fullName = await Ask($"Full name for user {login}?", login, a => a.IndexOfAny(new[] { ':', '&', ',' }) < 0 && a.Length <= 100, ct);
            _userPassword = await AskPassword($"Password for user {login}?", ct);
            _user = $"{login} ({fullName})";
            if (Ai)
            {
                var key = await Ask($"Public ssh key for user {login}", "none", IsKeyOrNone, ct);
                if (key != "none") _userKeys += key + "\n";
            }
        }

        private async Task AskTimezone(string? def, CancellationToken ct)
        {
            var zones = new[] { "UTC", "Europe/Berlin", "Europe/Amsterdam", "America/New_York", "Asia/Tokyo" };
            while (true)
            {
                var zone = await Ask("What timezone are you in? ('?' for list)", def,
                    a => a == "?" || zones.Contains(a) || zones.Any(z => z.StartsWith(a + "/", StringComparison.Ordinal)), ct);
                if (zone == "?") { await Chatter(ct, string.Join("  ", zones)); continue; }
                if (!zones.Contains(zone)) Stop($"the timezone answer '{zone}' would lead to a sub-timezone question");
                _timezone = zone;
                return;
            }
        }

        private async Task PrepareRootDisk(CancellationToken ct)
        {
            await Chatter(ct, "", $"Available disks are: {string.Join(" ", _s.Disks)}.");
            while (true)
            {
                var disk = await Ask("Which disk is the root disk? ('?' for details)", _s.Disks[0],
                    a => a == "?" || _s.Disks.Contains(a), ct);
                if (disk == "?")
                {
                    await Chatter(ct, $"    {_s.Disks[0]}: VirtIO, Block Device (0.5G)", $"    {_s.Disks[1]}: VirtIO, Block Device (32.0G)");
                    continue;
                }
                if (disk == _s.MediaDisk) Stop($"the root disk answer '{disk}' would wipe the install media");
                _rootDisk = disk;
                break;
            }
            if (_s.Arch == "arm64")
                await Ask("Encrypt the root disk with a (p)assphrase or (k)eydisk?", "no", a => a is "n" or "no", ct);

            switch (_s.DiskStyle)
            {
                case DiskPromptStyle.Arm64Mbr:
                    await Chatter(ct, "MBR has invalid signature; not showing it.");
                    _diskTable = await Ask("Use (W)hole disk or (E)dit the MBR?", "whole", a => Regex.IsMatch(a, "^[wW]"), ct);
                    break;
                case DiskPromptStyle.Arm64Gpt:
                    await Chatter(ct, "Disk: sd1       Usable LBA: 64 to 67108830 [67108767 Sectors]");
                    _diskTable = await Ask("Use (W)hole disk or (E)dit the GPT?", "whole", a => Regex.IsMatch(a, "^[wW]"), ct);
                    break;
                case DiskPromptStyle.Amd64:
                    await Chatter(ct, "MBR has invalid signature; not showing it.");
                    _diskTable = await Ask("Use (W)hole disk MBR, whole disk (G)PT or (E)dit?", "gpt", a => Regex.IsMatch(a, "^[wWgG]"), ct);
                    break;
            }
            _diskTable = _diskTable.ToLowerInvariant().StartsWith("g") ? "gpt" : "whole";
            await Chatter(ct, $"Creating a msdos partition and an OpenBSD partition for rest of {_rootDisk}...done.");

            var labelled = false;
            if (Ai)
            {
                var url = await Ask("URL to autopartitioning template for disklabel?", "none", a => a == "none" || a.Contains("://"), ct);
                if (url != "none")
                {
                    await Chatter(ct, "Fetching " + url);
                    if (!_s.HttpFiles.TryGetValue(url, out var template)) Stop("No autopartitioning template found.");
                    CheckTemplate(template!);
                    _layout = template!;
                    labelled = true;
                }
            }
            while (!labelled)
            {
                await Chatter(ct, $"The auto-allocated layout for {_rootDisk} is:",
                    "#                size           offset  fstype [fsize bsize   cpg]",
                    "  a:          1024.0M            65536  4.2BSD   2048 16384     1 # /",
                    "  b:          1545.1M          2162688    swap",
                    "  c:         32768.0M                0  unused",
                    "  d:          4096.0M          5327104  4.2BSD   2048 16384     1 # /tmp",
                    "  l:         12289.4M         41730528  4.2BSD   2048 16384     1 # /home");
                var layout = await Ask("Use (A)uto layout, (E)dit auto layout, or create (C)ustom layout?", "a",
                    a => Regex.IsMatch(a, "^[aAeEcC]"), ct);
                switch (char.ToLowerInvariant(layout[0]))
                {
                    case 'a':
                        labelled = true;
                        break;
                    case 'c':
                        // md_prep_disklabel(): an fstab written already ends it; else the label editor starts.
                        if (!_files.ContainsKey($"/tmp/i/fstab.{_rootDisk}")) Stop("custom layout chosen without a label: the disklabel editor would start");
                        labelled = true;
                        break;
                    default:
                        Stop("the auto layout editor would start");
                        break;
                }
            }
            await Chatter(ct,
                $"/dev/r{_rootDisk}a: 1024.0MB in 2097152 sectors of 512 bytes",
                "6 cylinder groups of 202.50MB, 12960 blocks, 25920 inodes each",
                $"/dev/r{_rootDisk}d: 4096.0MB in 8388608 sectors of 512 bytes",
                "21 cylinder groups of 202.50MB, 12960 blocks, 25920 inodes each");
            await Chatter(ct, $"Available disks are: {_s.MediaDisk}.");
            await AskWhich("disk", "do you wish to initialize", "done", a => a == "done", ct);
            await Chatter(ct,
                $"/dev/{_rootDisk}a (3f1ad2e9c1a1b1c1.a) on /mnt type ffs (rw, asynchronous, local)",
                $"/dev/{_rootDisk}d (3f1ad2e9c1a1b1c1.d) on /mnt/tmp type ffs (rw, asynchronous, local, nodev, nosuid)");
        }

        private async Task InstallSets(CancellationToken ct)
        {
            var locations = _s.Wording == InstallerWording.Release2023 ? "disk http nfs" : "disk http";
            await Chatter(ct, "", "Let's install the sets!");
            var def = "http";
            var installed = false;
            while (true)
            {
                var where = await Ask($"Location of sets? ({locations} or 'done')", def,
                    a => locations.Split(' ').Contains(a) || a == "done", ct);
                if (where == "done")
                {
                    if (!installed) Stop("'done' before any sets were installed: the installer would ask whether the install is complete without bsd");
                    return;
                }
                if (installed) Stop($"'{where}' after the sets were installed");
                string from;
                if (where == "disk") from = await SetsFromDisk(ct);
                else if (where == "http") from = await SetsFromHttp(ct);
                else { Stop($"sets location '{where}' is not simulated"); return; }
                await SelectAndInstallSets(ct);
                _setsFrom = from;
                installed = true;
                def = "done";
            }
        }

        private async Task<string> SetsFromDisk(CancellationToken ct)
        {
            var mountedDefault = _s.Wording == InstallerWording.Release2023 ? "yes" : "no";
            if (Yes(await AskYesNo("Is the disk partition already mounted?", mountedDefault, ct)))
                Stop("'already mounted' was answered yes: the sets would be looked for on the ramdisk");
            await Chatter(ct, $"Available disks are: {string.Join(" ", _s.Disks)}.");
            var disk = await AskWhich("disk", "contains the install media", _s.MediaDisk, a => _s.Disks.Contains(a) || a == "done", ct);
            if (disk != _s.MediaDisk) Stop($"'{disk}' does not hold the install media");
            var partition = "a";
            if (_s.MediaHasSeveralPartitions)
            {
                await Chatter(ct,
                    "  a:          1034592             1024  4.2BSD   2048 16384 16142",
                    "  i:              960               64   MSDOS");
                partition = await AskWhich($"{disk} partition", "has the install sets", "a", a => a is "a" or "i" or "done", ct);
                if (partition != "a") Stop($"partition '{partition}' has no sets");
            }
            var path = await AskUntil("Pathname to the sets? (or 'done')", _s.SetsPath, a => a.Length > 0, ct);
            if (path != _s.SetsPath)
            {
                await Chatter(ct, $"The directory '{path}' does not exist.");
                Stop($"no sets at '{path}'");
            }
            return $"disk {disk}{partition}:{path}";
        }

        private async Task<string> SetsFromHttp(CancellationToken ct)
        {
            var proxy = await Ask("HTTP proxy URL? (e.g. 'http://proxy:8080', or 'none')", "none", a => a == "none" || a.StartsWith("http"), ct);
            await Chatter(ct, "(Unable to get list from openbsd.org, but that is OK)");
            var server = await AskUntil("HTTP Server? (hostname or 'done')", null,
                a => Regex.IsMatch(a, @"^(https?://)?[A-Za-z0-9:.\[\]_-]+$"), ct);
            var dir = await AskUntil("Server directory?", $"pub/OpenBSD/{_s.SetsPath}", a => !a.Contains(' '), ct);
            if (!server.StartsWith("http://")) await Chatter(ct, "Unable to connect using HTTPS; using HTTP instead.");
            return $"http {server}/{dir}" + (proxy == "none" ? "" : $" via {proxy}");
        }

        private async Task SelectAndInstallSets(CancellationToken ct)
        {
            var v = _s.ShortVersion;
            var available = new List<string> { "bsd", "bsd.mp", "bsd.rd", $"base{v}.tgz", $"comp{v}.tgz", $"man{v}.tgz", $"game{v}.tgz",
                $"xbase{v}.tgz", $"xshare{v}.tgz", $"xfont{v}.tgz", $"xserv{v}.tgz" };
            var selected = available.ToList();
            await Chatter(ct, "",
                "Select sets by entering a set name, a file name pattern or 'all'. De-select",
                "sets by prepending a '-', e.g.: '-game*'. Selected sets are labelled '[X]'.");
            while (true)
            {
                await Chatter(ct, "    " + string.Join("  ", available.Select(f => (selected.Contains(f) ? "[X] " : "[ ] ") + f)));
                var answer = await Ask("Set name(s)? (or 'abort' or 'done')", "done", IsSetSelection(available), ct);
                if (answer == "abort") Stop("set selection aborted");
                if (answer == "done") break;
                // select_sets(): '-' removes, anything else adds; patterns are shell globs; 'all' is '*'.
                foreach (var word in answer.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (word == "done") goto chosen;
                    var remove = word.StartsWith("-");
                    var pattern = word.TrimStart('+', '-');
                    if (pattern == "all") pattern = "*";
                    foreach (var set in available.Where(f => Glob(pattern, f)))
                    {
                        if (remove) selected.Remove(set);
                        else if (!selected.Contains(set)) selected.Add(set);
                    }
                }
            }
            chosen:
            selected = available.Where(selected.Contains).ToList();
            if (_s.SetsSigned)
            {
                await Chatter(ct, "Get/Verify SHA256.sig   100% |**************************|  2144       00:00", "Signature Verified");
            }
            else
            {
                var go = await AskYesNo($"{_s.VerificationIssue}. Continue without verification?", "no", ct);
                if (!Yes(go)) Stop("unverified sets refused: the install stops here");
                _unverified = true;
            }
            foreach (var set in selected)
            {
                await Write($"Installing {set,-13}  45% |************              | 12345 KB    00:01 ETA\r", ct);
                await Chatter(ct, $"Installing {set,-13} 100% |**************************| 27417 KB    00:02");
            }
            _sets = string.Join(" ", selected);
        }

        // ---------------------------------------------------------------- asking

        /// <summary>install.sub ask(): "question [default] ", answer or default.</summary>
        private async Task<string> Ask(string question, string? def, Func<string, bool> valid, CancellationToken ct)
        {
            var display = question + " " + (string.IsNullOrEmpty(def) ? "" : $"[{def}] ");
            return await Question(question, display, def, valid, secret: false, ct);
        }

        /// <summary>ask_until(): like ask() but insists on a non-empty answer.</summary>
        private async Task<string> AskUntil(string question, string? def, Func<string, bool> valid, CancellationToken ct)
        {
            var answer = await Ask(question, def, valid, ct);
            if (answer.Length == 0) Stop($"no answer to '{question}'");
            return answer;
        }

        /// <summary>ask_yn(): yes/no with a default.</summary>
        private Task<string> AskYesNo(string question, string def, CancellationToken ct) =>
            Ask(question, def, a => Regex.IsMatch(a, "^(y|yes|n|no)$", RegexOptions.IgnoreCase), ct);

        /// <summary>ask_which(): "Which NAME QUERY? (or 'done') [default] "; autoinstall matches only "Which NAME QUERY?".</summary>
        private async Task<string> AskWhich(string name, string query, string def, Func<string, bool> valid, CancellationToken ct)
        {
            var question = $"Which {name} {query}?";
            var display = $"{question} (or 'done') [{def}] ";
            return await Question(question, display, def, valid, secret: false, ct);
        }

        /// <summary>dot.profile's first question: printed as is, no default, no '!' escapes.</summary>
        private Task<string> AskRaw(string display, string question, Func<string, bool> valid, CancellationToken ct) =>
            Question(question, display, null, valid, secret: false, ct, escapes: false);

        /// <summary>ask_password(): twice without echo interactively; once, no default, in autoinstall.</summary>
        private async Task<string> AskPassword(string question, CancellationToken ct)
        {
            if (Ai)
            {
                await Write(question + " ", ct);
                var answer = AutoRespond(question, null);
                await Chatter(ct, "<provided>");
                return answer;
            }
            while (true)
            {
                var first = await Question(question, question + " (will not echo) ", null, a => a.Length > 0, secret: true, ct, escapes: false);
                var again = await Question(question, question + " (again) ", null, a => true, secret: true, ct, escapes: false);
                if (first == again) return first;
                await Chatter(ct, "Passwords do not match, try again.");
            }
        }

        private async Task<string> Question(string question, string display, string? def, Func<string, bool> valid, bool secret,
            CancellationToken ct, bool escapes = true)
        {
            if (_s.StallBefore != null && question.StartsWith(_s.StallBefore, StringComparison.Ordinal))
            {
                await Chatter(ct, "Fetching http://10.0.2.2/disklabel.template");
                await Task.Delay(Timeout.Infinite, ct);
            }
            if (!_extraShown && _s.ExtraPrompt != null && _s.ExtraPromptBefore != null
                && question.StartsWith(_s.ExtraPromptBefore, StringComparison.Ordinal))
            {
                _extraShown = true;
                await Question(_s.ExtraPrompt.TrimEnd(), _s.ExtraPrompt, "yes", a => true, secret: false, ct);
            }
            lock (_gate) _questions.Add(question);

            if (Ai)
            {
                await Write(display, ct);
                var auto = AutoRespond(question, def);
                await Chatter(ct, secret ? "<provided>" : auto);
                return Check(question, auto, valid);
            }

            while (true)
            {
                await WritePromptInPieces(display, ct);
                var line = await ReadLine(ct);
                await Write((secret ? "" : line) + "\r\n", ct);
                if (escapes && line.StartsWith("!"))
                {
                    // _ask(): eval the rest, then the prompt is printed again.
                    lock (_gate) _escapes.Add(line);
                    if (Regex.IsMatch(line, @"^!\s*halt(\s+-p)?\s*$"))
                    {
                        if (_completed) KeepAuthorizedKeys();
                        await HaltAsync(powerDown: line.Contains("-p"), ct);
                        throw new SystemWentDown();
                    }
                    RunShell(line.Substring(1), question);
                    continue;
                }
                var answer = line.Length == 0 ? def ?? "" : line;
                return Check(question, answer, valid);
            }
        }

        private string Check(string question, string answer, Func<string, bool> valid)
        {
            if (!valid(answer)) Stop($"answered '{answer}' to '{question}'");
            return answer;
        }

        /// <summary>install.sub _autorespond(): first matching line, word-aligned, case-insensitive; the line is used up.</summary>
        private string AutoRespond(string question, string? def)
        {
            var q = question.ToLowerInvariant();
            for (var i = 0; i < _responses!.Count; i++)
            {
                var (key, answer, number) = _responses[i];
                if (!KeyMatches(q, key.ToLowerInvariant())) continue;
                _responses.RemoveAt(i);
                _consumed.Add(new ConsumedLine(number, key, answer, question));
                return answer;
            }
            if (!string.IsNullOrEmpty(def)) return def!;
            Stop($"Question has no answer in response file: \"{q}\"");
            return "";
        }

        /// <summary>[[ $_q == @(|*[[:blank:]])"$_key"@([[:blank:]?]*|) ]]</summary>
        public static bool KeyMatches(string question, string key)
        {
            for (var at = question.IndexOf(key, StringComparison.Ordinal); at >= 0; at = question.IndexOf(key, at + 1, StringComparison.Ordinal))
            {
                var before = at == 0 || question[at - 1] == ' ' || question[at - 1] == '\t';
                var end = at + key.Length;
                var after = end == question.Length || question[end] == ' ' || question[end] == '\t' || question[end] == '?';
                if (before && after) return true;
            }
            return false;
        }

        /// <summary>Lines as _autorespond() reads them: "[!#=]*=?*", key before the first '=', answer after it.</summary>
        private static List<(string, string, int)> ParseResponseFile(string text)
        {
            var result = new List<(string, string, int)>();
            var number = 0;
            foreach (var raw in text.Split('\n'))
            {
                number++;
                var line = raw.Trim(' ', '\t', '\r');
                var eq = line.IndexOf('=');
                if (line.Length == 0 || line[0] == '#' || line[0] == '=' || eq < 0 || eq == line.Length - 1) continue;
                result.Add((line.Substring(0, eq).TrimEnd(' ', '\t'), line.Substring(eq + 1).TrimStart(' ', '\t'), number));
            }
            return result;
        }

        // ---------------------------------------------------------------- the installer shell ('!' answers)

        private void RunShell(string commandLine, string question)
        {
            foreach (var command in commandLine.Split(';').Select(c => c.Trim()).Where(c => c.Length > 0))
            {
                Match m;
                if ((m = Regex.Match(command, @"^: >(?<p>\S+)$")).Success)
                    WriteFile(m.Groups["p"].Value, "", append: false);
                else if ((m = Regex.Match(command, @"^print -r(?<n>n?) -- '(?<t>[^']*)' >>(?<p>\S+)$")).Success)
                    WriteFile(m.Groups["p"].Value, m.Groups["t"].Value + (m.Groups["n"].Value == "n" ? "" : "\n"), append: true);
                else if ((m = Regex.Match(command, @"^echo >>(?<p>\S+)$")).Success)
                    WriteFile(m.Groups["p"].Value, "\n", append: true);
                else if ((m = Regex.Match(command, @"^disklabel -T (?<t>\S+) -F /tmp/i/fstab\.(?<f>\w+) -w -A (?<d>\w+)$")).Success)
                {
                    if (!question.StartsWith("Use (A)uto layout")) Stop($"disklabel run at '{question}'");
                    if (m.Groups["f"].Value != _rootDisk || m.Groups["d"].Value != _rootDisk) Stop($"disklabel for the wrong disk: {command}");
                    var template = FileText(m.Groups["t"].Value);
                    CheckTemplate(template);
                    _layout = template;
                    _files[$"/tmp/i/fstab.{_rootDisk}"] = $"/dev/{_rootDisk}a / ffs rw 1 1\n";
                }
                else
                    Stop($"unknown shell command '{command}'");
            }
        }

        private void WriteFile(string path, string text, bool append)
        {
            var dir = path.Substring(0, path.LastIndexOf('/'));
            var dirExists = dir == "/tmp/i" || _files.Keys.Any(f => f.StartsWith(dir + "/", StringComparison.Ordinal));
            if (!dirExists) Stop($"{path}: No such file or directory");
            _files[path] = (append && _files.TryGetValue(path, out var old) ? old : "") + text;
        }

        private string FileText(string path)
        {
            if (!_files.TryGetValue(path, out var text)) Stop($"{path}: No such file");
            return text!;
        }

        /// <summary>disklabel parse_autotable(): "mountpoint size[-max] [N%]" per line.</summary>
        private void CheckTemplate(string template)
        {
            var lines = template.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length == 0 || !lines[0].StartsWith("/ ")) Stop("template does not start with '/'");
            foreach (var line in lines)
                if (!Regex.IsMatch(line, @"^(/\S*|swap)\s+[0-9.]+[kKmMgGtT]?(-([0-9.]+[kKmMgGtT]?|\*))?(\s+[0-9]+%)?$"))
                    Stop($"disklabel: parse error in template line '{line}'");
        }

        // ---------------------------------------------------------------- console I/O

        private async Task ReadKeyboardAsync(CancellationToken ct)
        {
            var buffer = new byte[1024];
            try
            {
                while (true)
                {
                    var n = await _keyboard!.ReadAsync(buffer, 0, buffer.Length, ct);
                    if (n == 0) return;
                    var text = Encoding.UTF8.GetString(buffer, 0, n);
                    lock (_gate)
                    {
                        if (!_awaitingInput)
                            _violations.Add($"typed '{Visible(text)}' before the prompt had fully appeared; the console showed: '{Visible(Tail(_lastOutput, 80))}'");
                        _typed.Append(text);
                    }
                    _typedSignal.Release();
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        /// <summary>cngetc(): one typed character.</summary>
        private async Task ReadKey(CancellationToken ct)
        {
            lock (_gate) _awaitingInput = true;
            while (true)
            {
                lock (_gate)
                {
                    if (_typed.Length > 0)
                    {
                        _typed.Remove(0, 1);
                        _awaitingInput = false;
                        return;
                    }
                }
                await _typedSignal.WaitAsync(ct);
            }
        }

        private async Task<string> ReadLine(CancellationToken ct)
        {
            lock (_gate) _awaitingInput = true;
            while (true)
            {
                lock (_gate)
                {
                    var text = _typed.ToString();
                    var end = text.IndexOfAny(new[] { '\r', '\n' });
                    if (end >= 0)
                    {
                        var skip = end + 1 < text.Length && text[end] == '\r' && text[end + 1] == '\n' ? 2 : 1;
                        _typed.Remove(0, end + skip);
                        _awaitingInput = false;
                        if (_violations.Count > 0) throw new SimulationStopped();
                        return text.Substring(0, end);
                    }
                }
                await _typedSignal.WaitAsync(ct);
            }
        }

        /// <summary>
        /// Prints a prompt in three pieces with pauses, as a slow serial line would. Normally the cuts
        /// fall inside words, so a piece never looks like a finished prompt and scheduler hiccups in
        /// a busy test run cannot matter; with <see cref="SimulatorScenario.SplitAtQuestionMark"/> a
        /// piece ends right after "? ", where a driver that does not wait for the whole prompt answers.
        /// </summary>
        private async Task WritePromptInPieces(string display, CancellationToken ct)
        {
            var cuts = new List<int>();
            if (_s.SplitAtQuestionMark)
            {
                var firstBlank = display.IndexOf(' ');
                if (firstBlank > 0) cuts.Add(firstBlank + 1);
                var question = display.IndexOf("? ", StringComparison.Ordinal);
                if (question > 0 && question + 2 < display.Length && !cuts.Contains(question + 2)) cuts.Add(question + 2);
            }
            else
            {
                foreach (var third in new[] { display.Length / 3, 2 * display.Length / 3 })
                {
                    var cut = Math.Max(1, third);
                    while (cut < display.Length && !char.IsLetterOrDigit(display[cut - 1])) cut++;
                    if (cut > 0 && cut < display.Length && !cuts.Contains(cut)) cuts.Add(cut);
                }
            }
            cuts.Sort();
            var start = 0;
            foreach (var cut in cuts)
            {
                await Write(display.Substring(start, cut - start), ct);
                await Task.Delay(_s.ChunkDelay, ct);
                start = cut;
            }
            await Write(display.Substring(start), ct);
        }

        private async Task Chatter(CancellationToken ct, params string[] lines)
        {
            foreach (var line in lines) await Write(line + "\r\n", ct);
        }

        private async Task Write(string text, CancellationToken ct)
        {
            lock (_gate)
            {
                _output.Append(text);
                _lastOutput = Tail(_lastOutput + text, 200);
            }
            if (_console == null) return;
            var bytes = Encoding.UTF8.GetBytes(text);
            await _console.WriteAsync(bytes, 0, bytes.Length, ct);
        }

        private void Stop(string why)
        {
            lock (_gate) _violations.Add(why);
            throw new SimulationStopped();
        }

        // ---------------------------------------------------------------- helpers

        private static bool Yes(string answer) => answer.StartsWith("y", StringComparison.OrdinalIgnoreCase);

        private static bool IsKeyOrNone(string answer) => answer == "none" || Regex.IsMatch(answer, @"^(ssh-|ecdsa-|sk-)\S+ \S+");

        private static Func<string, bool> IsSetSelection(List<string> available) => answer =>
            answer.Split(' ', StringSplitOptions.RemoveEmptyEntries).All(word =>
                word is "done" or "abort" or "all" or "-all" or "+all" ||
                available.Any(set => Glob(word.TrimStart('+', '-'), set)));

        private static bool Glob(string pattern, string name) =>
            Regex.IsMatch(name, "^" + Regex.Escape(pattern).Replace(@"\*", ".*").Replace(@"\?", ".") + "$");

        private static string Tail(string text, int length) => text.Length <= length ? text : text.Substring(text.Length - length);

        private static string Visible(string text) => text.Replace("\r", "\\r").Replace("\n", "\\n");

        private sealed class SimulationStopped : Exception
        {
        }

        /// <summary>The machine halted or powered down from a '!' escape: the installer is gone.</summary>
        private sealed class SystemWentDown : Exception
        {
        }
    }
}
