using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>
    /// Who vouches for the sets. install.sub checks SHA256.sig beside the sets with signify; when that file
    /// is missing (installNN.img carries only SHA256, see docs/openbsd-notes.md) it asks
    /// "Continue without verification? [no]", and an unanswered autoinstall stops there.
    /// </summary>
    public enum SetsVerification
    {
        /// <summary>A valid SHA256.sig is next to the sets: "Continue without verification?" is never answered yes.</summary>
        ByInstaller,
        /// <summary>
        /// The module verified the media that carries the sets (its SHA256.sig, signify, then the media's SHA-256)
        /// before booting it, which covers the sets on it: the question is answered yes.
        /// </summary>
        ByModule,
    }

    /// <summary>What the interactive installer does after CONGRATULATIONS (autoinstall always reboots).</summary>
    public enum InstallFinishAction
    {
        Reboot,
        /// <summary>Power down (halt -p): a plain halt on arm64 waits for a key on the console and QEMU never exits.</summary>
        Halt,
    }

    /// <summary>
    /// Everything that decides what an OpenBSD install looks like. Both install paths read it:
    /// <see cref="ResponseFile"/> for autoinstall(8) and <see cref="InstallerConversation"/> for
    /// -Interactive over the serial console, so the two produce the same system.
    /// </summary>
    public sealed class InstallOptions
    {
        /// <summary>Short host name (install.sub: "System hostname? (short form, ...)").</summary>
        public string Hostname { get; set; } = "";

        /// <summary>Plaintext, an encrypt(1) hash, or <see cref="InstallPassword.Disabled"/>. Required.</summary>
        public string RootPassword { get; set; } = "";

        /// <summary>One OpenSSH public key line for root, or null.</summary>
        public string? RootPublicKey { get; set; }

        /// <summary>The unprivileged build user, or null for a root-only image.</summary>
        public InstallUser? User { get; set; }

        public bool StartSshd { get; set; } = true;

        /// <summary>"yes", "no" or "prohibit-password" (install.sub ask_root_sshd).</summary>
        public string RootSshLogin { get; set; } = "prohibit-password";

        /// <summary>A zoneinfo name; asked with no default when offline (docs/openbsd-notes.md), so always answered.</summary>
        public string Timezone { get; set; } = "UTC";

        /// <summary>Target disk. The installer defaults to the first disk, which is the install media
        /// when that is attached first, so this is always answered (docs/openbsd-notes.md).</summary>
        public string RootDisk { get; set; } = "sd1";

        /// <summary>The network interface configured with DHCP during the install.</summary>
        public string NetworkInterface { get; set; } = "vio0";

        /// <summary>Where the sets come from.</summary>
        public InstallSetsSource Sets { get; set; } = new DiskSetsSource();

        /// <summary>
        /// Answers to "Set name(s)?", used in order; "done" is added when missing. The default drops
        /// X11 and games, which a headless build guest never needs.
        /// </summary>
        public IList<string> SetSelections { get; set; } = new List<string> { "-x* -game*" };

        /// <summary>
        /// Who vouches for the sets; only <see cref="Images.SetsVerification.ByModule"/> answers
        /// "Continue without verification?" with yes. The default stops an install the installer cannot verify.
        /// </summary>
        public SetsVerification SetsVerification { get; set; } = SetsVerification.ByInstaller;

        /// <summary>Disk layout; null keeps the installer's automatic layout.</summary>
        public DisklabelTemplate? DiskLayout { get; set; }

        /// <summary>Where autoinstall fetches <see cref="DiskLayout"/> from (the response file needs a URL).</summary>
        public string? DiskLayoutUrl { get; set; }

        /// <summary>Answer to "Terminal type?" on a serial console.</summary>
        public string TerminalType { get; set; } = "vt220";

        public InstallFinishAction FinishAction { get; set; } = InstallFinishAction.Reboot;

        /// <summary>The set selection lines with the terminating "done" that the installer needs.</summary>
        public IReadOnlyList<string> EffectiveSetSelections()
        {
            var lines = SetSelections.Select(s => s.Trim()).Where(s => s.Length > 0).ToList();
            if (lines.Count == 0 || !string.Equals(lines[lines.Count - 1], "done", StringComparison.OrdinalIgnoreCase))
                lines.Add("done");
            return lines;
        }

        /// <summary>Checks every value before anything is started; throws InvalidParameter.* on the first problem.</summary>
        public void Validate()
        {
            // install.sub refuses names with spaces or control characters; a short DNS label is what we want.
            if (!Regex.IsMatch(Hostname ?? "", "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"))
                throw OpenBsdBuildException.BadParameter("Hostname", Hostname, "is not a short host name.",
                    "Use letters, digits and '-', e.g. 'obsd-build'.");
            InstallPassword.Validate("RootPassword", RootPassword, required: true);
            InstallKeys.Validate("RootPublicKey", RootPublicKey);
            User?.Validate();

            if (!new[] { "yes", "no", "prohibit-password" }.Contains(RootSshLogin))
                throw OpenBsdBuildException.BadParameter("RootSshLogin", RootSshLogin, "is not an sshd PermitRootLogin choice.",
                    "Use 'prohibit-password', 'yes' or 'no'.");
            if (!Regex.IsMatch(Timezone ?? "", "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"))
                throw OpenBsdBuildException.BadParameter("Timezone", Timezone, "is not a zoneinfo name.",
                    "Use a name such as 'UTC' or 'Europe/Berlin'.");
            ValidateDiskName("RootDisk", RootDisk);
            if (!Regex.IsMatch(NetworkInterface ?? "", "^[a-z]+[0-9]+$"))
                throw OpenBsdBuildException.BadParameter("NetworkInterface", NetworkInterface, "is not an interface name.",
                    "Use the guest's interface name, e.g. 'vio0'.");
            if (Sets == null)
                throw OpenBsdBuildException.BadParameter("Sets", null, "is missing.", "Give a disk or HTTP location for the sets.");
            Sets.Validate();
            if (Sets is DiskSetsSource disk && disk.Disk == RootDisk)
                throw OpenBsdBuildException.BadParameter("RootDisk", RootDisk, "is also the disk that holds the install sets.",
                    "Attach the install media as a separate disk and name both.");
            foreach (var line in SetSelections ?? new List<string>())
            {
                if (line == null || line.IndexOfAny(new[] { '\r', '\n', '=' }) >= 0 || line.Length > InstallerShellEscape.MaxLineLength)
                    throw OpenBsdBuildException.BadParameter("SetSelections", line, "is not a usable 'Set name(s)' answer.",
                        "Use set names or patterns such as '-x* -game*'.");
            }
            if (!Regex.IsMatch(TerminalType ?? "", "^[A-Za-z0-9.+-]+$"))
                throw OpenBsdBuildException.BadParameter("TerminalType", TerminalType, "is not a terminal type.", "Use 'vt220'.");
            if (DiskLayoutUrl != null && !Regex.IsMatch(DiskLayoutUrl, @"^(https?|file)://\S+$"))
                throw OpenBsdBuildException.BadParameter("DiskLayoutUrl", DiskLayoutUrl, "is not a URL the installer can fetch.",
                    "Use an http:// URL reachable from the guest, e.g. http://10.0.2.2:8000/disklabel.");
        }

        internal static void ValidateDiskName(string parameter, string? value)
        {
            if (!Regex.IsMatch(value ?? "", "^(sd|wd)[0-9]+$"))
                throw OpenBsdBuildException.BadParameter(parameter, value, "is not an OpenBSD disk name.",
                    "Use a name such as 'sd0' or 'sd1'.");
        }
    }
}
