using System.Collections.Generic;
using System.Linq;
using System.Text;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>One "question = answer" line of an autoinstall(8) response file.</summary>
    public sealed class ResponseLine
    {
        public ResponseLine(string key, string answer, bool secret = false)
        {
            Key = key;
            Answer = answer;
            Secret = secret;
        }

        /// <summary>A word-aligned, case-insensitive substring of the installer's question.</summary>
        public string Key { get; }
        public string Answer { get; }
        /// <summary>Passwords: masked by <see cref="ResponseFile.ToMaskedText"/>.</summary>
        public bool Secret { get; }

        public override string ToString() => Key + " = " + Answer;
    }

    /// <summary>
    /// An autoinstall(8) response file built from <see cref="InstallOptions"/>.
    /// install.sub _autorespond() matches each question against the lines in file order, lowercased,
    /// with the key on word boundaries ("?" optional), uses the answer after the first '=' and then
    /// deletes the line, so repeated questions (Set name(s)) take successive lines (docs/openbsd-notes.md).
    /// A question no line matches gets its default; one without a default aborts the install, so
    /// everything without a default is always written here.
    /// </summary>
    public sealed class ResponseFile
    {
        // Keys are the stable start of each question in install.sub 1.1266 (2024) that also matches
        // the 2023 wording; the installer tests check each one against the simulator's prompts.
        public const string HostnameKey = "System hostname";
        public const string NetworkInterfaceKey = "network interface"; // 2023 "Which network interface do you wish...", 2024 "Network interface to configure?"
        public const string RootPasswordKey = "Password for root account";
        public const string RootPublicKeyKey = "Public ssh key for root account";
        public const string StartSshdKey = "Start sshd(8) by default";
        public const string XWindowKey = "Do you expect to run the X Window System";
        public const string SetupUserKey = "Setup a user";
        public const string AllowRootSshKey = "Allow root ssh login";
        public const string TimezoneKey = "What timezone are you in";
        public const string RootDiskKey = "Which disk is the root disk";
        public const string DisklabelTemplateKey = "URL to autopartitioning template for disklabel";
        public const string SetsLocationKey = "Location of sets";
        public const string DiskMountedKey = "Is the disk partition already mounted";
        public const string MediaDiskKey = "Which disk contains the install media";
        public const string SetsPathKey = "Pathname to the sets";
        public const string HttpProxyKey = "HTTP proxy URL";
        public const string HttpServerKey = "HTTP Server";
        public const string ServerDirectoryKey = "Server directory";
        public const string SetNamesKey = "Set name(s)";
        public const string ContinueUnverifiedKey = "Continue without verification";

        public static string Ipv4Key(string ifname) => $"IPv4 address for {ifname}";
        public static string Ipv6Key(string ifname) => $"IPv6 address for {ifname}";
        public static string FullNameKey(string login) => $"Full name for user {login}";
        public static string UserPasswordKey(string login) => $"Password for user {login}";
        public static string UserPublicKeyKey(string login) => $"Public ssh key for user {login}";
        public static string MediaPartitionKey(string disk) => $"Which {disk} partition has the install sets";

        private ResponseFile(IReadOnlyList<ResponseLine> lines) => Lines = lines;

        public IReadOnlyList<ResponseLine> Lines { get; }

        /// <summary>Validates <paramref name="options"/> and builds the response file, in the order the installer asks.</summary>
        public static ResponseFile Build(InstallOptions options)
        {
            options.Validate();
            var lines = new List<ResponseLine>();
            void Add(string key, string answer, bool secret = false) => lines.Add(new ResponseLine(key, answer, secret));

            Add(HostnameKey, options.Hostname);
            // Network: the first interface by DHCP, no IPv6; the interface question then repeats
            // with default 'done', which ends the loop because this line is used up.
            Add(NetworkInterfaceKey, options.NetworkInterface);
            Add(Ipv4Key(options.NetworkInterface), "autoconf");
            Add(Ipv6Key(options.NetworkInterface), "none");
            // Autoinstall asks once for the root password and requires an answer (docs/openbsd-notes.md).
            Add(RootPasswordKey, options.RootPassword, secret: true);
            if (options.RootPublicKey != null) Add(RootPublicKeyKey, options.RootPublicKey);
            Add(StartSshdKey, options.StartSshd ? "yes" : "no");
            // Not asked on headless arm64 (docs/openbsd-notes.md); the answer keeps other platforms the same.
            Add(XWindowKey, "no");
            if (options.User == null)
            {
                Add(SetupUserKey, "no");
            }
            else
            {
                var user = options.User;
                Add(SetupUserKey, user.LoginName);
                Add(FullNameKey(user.LoginName), user.EffectiveFullName);
                Add(UserPasswordKey(user.LoginName), user.Password, secret: true);
                if (user.PublicKey != null) Add(UserPublicKeyKey(user.LoginName), user.PublicKey);
            }
            if (options.StartSshd) Add(AllowRootSshKey, options.RootSshLogin);
            Add(TimezoneKey, options.Timezone);
            Add(RootDiskKey, options.RootDisk);
            if (options.DiskLayout != null)
            {
                if (options.DiskLayoutUrl == null)
                    throw OpenBsdBuildException.BadParameter("DiskLayoutUrl", null,
                        "is required: autoinstall fetches the disklabel template from a URL.",
                        "Serve the template over HTTP to the guest and pass its URL.");
                Add(DisklabelTemplateKey, options.DiskLayoutUrl);
            }
            else if (options.DiskLayoutUrl != null)
            {
                Add(DisklabelTemplateKey, options.DiskLayoutUrl);
            }

            Add(SetsLocationKey, options.Sets.LocationAnswer);
            switch (options.Sets)
            {
                case DiskSetsSource disk:
                    // The 2023 default was 'yes' (docs/openbsd-notes.md), so this is always answered.
                    Add(DiskMountedKey, "no");
                    Add(MediaDiskKey, disk.Disk);
                    if (disk.Partition != null) Add(MediaPartitionKey(disk.Disk), disk.Partition);
                    if (disk.Pathname != null) Add(SetsPathKey, disk.Pathname);
                    break;
                case HttpSetsSource http:
                    Add(HttpProxyKey, http.Proxy ?? "none");
                    Add(HttpServerKey, http.Server);
                    if (http.Directory != null) Add(ServerDirectoryKey, http.Directory);
                    break;
            }
            foreach (var selection in options.EffectiveSetSelections())
                Add(SetNamesKey, selection);
            // Never for sets only the installer could vouch for: its default 'no' then stops the install.
            if (options.SetsVerification == SetsVerification.ByModule)
                Add(ContinueUnverifiedKey, "yes");
            return new ResponseFile(lines);
        }

        /// <summary>The file as the installer reads it: one "question = answer" per line.</summary>
        public string ToText() => Render(l => l.Answer);

        /// <summary>The same text with passwords replaced, for logs and -Verbose.</summary>
        public string ToMaskedText() => Render(l => l.Secret ? InstallerTranscript.Mask : l.Answer);

        public override string ToString() => ToMaskedText();

        private string Render(System.Func<ResponseLine, string> answer)
        {
            var text = new StringBuilder();
            foreach (var line in Lines)
                text.Append(line.Key).Append(" = ").Append(answer(line)).Append('\n');
            return text.ToString();
        }

        /// <summary>The keys in order, for checks that every line is used exactly once.</summary>
        public IEnumerable<string> Keys => Lines.Select(l => l.Key);
    }
}
