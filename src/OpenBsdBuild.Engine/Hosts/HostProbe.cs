using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Hosts
{
    /// <summary>Learns what a host can do in one round trip: arch, QEMU binaries, and whether KVM really works.</summary>
    public static class HostProbe
    {
        public static async Task<HostCapabilities> ProbeAsync(IHostShell shell, CancellationToken cancellationToken)
        {
            ShellResult result = await shell.RunAsync(ShellTemplate.Load("host-probe.sh").Render(new ShellInputs()), cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
                throw new OpenBsdBuildException("HostProbeFailed", FailureKind.InvalidOperation,
                    $"Could not inspect {shell.Description}: {result.Message}", shell.Description,
                    "The host must be a Linux or macOS machine with a POSIX shell.");
            return Parse(result.Stdout);
        }

        /// <summary>
        /// The probe with the link watched (<see cref="LinkWatch"/>): on a link that died silently it is HostLost in ~20 s,
        /// not TCP's ~15 minutes. <paramref name="name"/> names the host in the error; <paramref name="aftermath"/> says what
        /// becomes of what was made so far.
        /// </summary>
        public static Task<HostCapabilities> ProbeWatchedAsync(IHostShell shell, string name, string aftermath, CancellationToken cancellationToken) =>
            LinkWatch.RunAsync(shell, ct => ProbeAsync(shell, ct),
                (why, inner) => new OpenBsdBuildException("HostLost", FailureKind.ConnectionError,
                    $"{name} {why} while it was inspected (architecture, QEMU, KVM); the link to it may be down. {aftermath}", name,
                    "Check that the host is reachable from this machine, then try again.", inner),
                cancellationToken);

        internal static HostCapabilities Parse(string output)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string raw in output.Split('\n'))
            {
                int eq = raw.IndexOf('=');
                if (eq > 0) values[raw.Substring(0, eq).Trim()] = raw.Substring(eq + 1).Trim();
            }
            string Get(string key) => values.TryGetValue(key, out var v) ? v : "";
            string? Path(string key) => Get(key).Length > 0 ? Get(key) : null;

            var caps = new HostCapabilities
            {
                Architecture = Architectures.FromUname(Get("arch")),
                OperatingSystem = Get("os"),
                HomeDirectory = Path("home"),
                QemuAarch64 = Path("qemu-system-aarch64"),
                QemuX86_64 = Path("qemu-system-x86_64"),
                QemuImg = Path("qemu-img"),
                HasPerl = Path("perl") != null,
            };
            var login = new KvmLogin(Get("user"), Get("kvmnode"), Get("sessiongroups"), Get("usergroups"));
            (caps.NativeAccelerator, caps.Kvm, caps.KvmProblem) = ChooseAccelerator(caps.OperatingSystem, caps.Architecture, Get("kvm"), Get("virtflag"), login);
            return caps;
        }

        /// <summary>Who probed, what /dev/kvm allows ("root:kvm 660"), and the groups of this login vs the group database.</summary>
        internal sealed class KvmLogin
        {
            public KvmLogin(string user, string node, string sessionGroups, string userGroups)
            {
                User = user.Length > 0 ? user : "this user";
                Node = node;
                int colon = node.IndexOf(':'), space = node.IndexOf(' ');
                Group = colon > 0 && space > colon ? node.Substring(colon + 1, space - colon - 1) : "";
                SessionGroups = sessionGroups.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
                UserGroups = userGroups.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            }

            public string User { get; }
            public string Node { get; }
            public string Group { get; }
            public string[] SessionGroups { get; }
            public string[] UserGroups { get; }
        }

        /// <summary>
        /// KVM only when it can actually run guests. A /dev/kvm node alone is not enough: on x86
        /// machines whose CPU does not expose vmx/svm (nested clouds) the device opens but guests
        /// hang in the decompressor, so there we also demand the CPU flag. When the node is there but
        /// closed to this login, the problem says which fix applies: Ubuntu's /dev/kvm is root:kvm 0660
        /// and its cloud user is not in kvm; a group added later reaches only new logins (docs/host-notes.md).
        /// </summary>
        internal static (string accelerator, KvmState state, string? problem) ChooseAccelerator(string os, string arch, string kvm, string virtFlag, KvmLogin login)
        {
            if (os == "Darwin") return ("hvf", KvmState.NotApplicable, null);
            if (os != "Linux") return ("tcg", KvmState.NotApplicable, $"{os} has no supported hypervisor");
            switch (kvm)
            {
                case "absent": return ("tcg", KvmState.Absent, "/dev/kvm does not exist (not a .metal instance, or KVM is not loaded)");
                case "noaccess": return ("tcg", login.Group.Length > 0 && login.Group != "root" && login.UserGroups.Contains(login.Group) && !login.SessionGroups.Contains(login.Group)
                    ? KvmState.NotInThisSession : KvmState.NoAccess, NoAccessProblem(login));
            }
            if (arch == "amd64" && virtFlag.Length == 0)
                return ("tcg", KvmState.NoCpuSupport, "/dev/kvm exists but the CPU exposes neither vmx nor svm, so KVM guests would hang");
            return ("kvm", KvmState.Usable, null);
        }

        private static string NoAccessProblem(KvmLogin login)
        {
            string node = login.Node.Length > 0 ? $"/dev/kvm is {login.Node.Replace(" ", " mode ")}" : "/dev/kvm exists";
            if (login.Group.Length == 0 || login.Group == "root")
                return $"{node} and {login.User} cannot open it (give the user access to /dev/kvm, then connect again)";
            if (login.UserGroups.Contains(login.Group) && !login.SessionGroups.Contains(login.Group))
                return $"{node}; {login.User} was added to group {login.Group} after this SSH login began, and a login keeps the groups it started with (connect again)";
            return $"{node} and {login.User} is not in group {login.Group} (run 'sudo usermod -aG {login.Group} {login.User}' on the host, then connect again)";
        }
    }

    public static class Architectures
    {
        public const string Arm64 = "arm64";
        public const string Amd64 = "amd64";

        public static string FromUname(string machine) => machine switch
        {
            "aarch64" or "arm64" => Arm64,
            "x86_64" or "amd64" => Amd64,
            _ => machine,
        };

        public static string QemuBinary(string arch) => arch == Arm64 ? "qemu-system-aarch64" : "qemu-system-x86_64";
    }
}
