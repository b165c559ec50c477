using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Hosts
{
    /// <summary>Learns what a host can do in one round trip: arch, QEMU binaries, and whether KVM really works.</summary>
    public static class HostProbe
    {
        private const string Script =
            "echo \"arch=$(uname -m)\"; echo \"os=$(uname -s)\"; echo \"home=$HOME\"; " +
            "for b in qemu-system-aarch64 qemu-system-x86_64 qemu-img perl; do p=$(command -v $b 2>/dev/null) && echo \"$b=$p\"; done; " +
            "if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo kvm=rw; elif [ -e /dev/kvm ]; then echo kvm=noaccess; else echo kvm=absent; fi; " +
            "f=$(grep -o -w -m1 -E 'vmx|svm' /proc/cpuinfo 2>/dev/null | head -n1); echo \"virtflag=$f\"";

        public static async Task<HostCapabilities> ProbeAsync(IHostShell shell, CancellationToken cancellationToken)
        {
            ShellResult result = await shell.RunAsync(Script, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
                throw new OpenBsdBuildException("HostProbeFailed", FailureKind.InvalidOperation,
                    $"Could not inspect {shell.Description}: {result.Message}", shell.Description,
                    "The host must be a Linux or macOS machine with a POSIX shell.");
            return Parse(result.Stdout);
        }

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
            (caps.NativeAccelerator, caps.KvmProblem) = ChooseAccelerator(caps.OperatingSystem, caps.Architecture, Get("kvm"), Get("virtflag"));
            return caps;
        }

        /// <summary>
        /// KVM only when it can actually run guests. A /dev/kvm node alone is not enough: on x86
        /// machines whose CPU does not expose vmx/svm (nested clouds) the device opens but guests
        /// hang in the decompressor, so there we also demand the CPU flag.
        /// </summary>
        internal static (string accelerator, string? problem) ChooseAccelerator(string os, string arch, string kvm, string virtFlag)
        {
            if (os == "Darwin") return ("hvf", null);
            if (os != "Linux") return ("tcg", $"{os} has no supported hypervisor");
            switch (kvm)
            {
                case "absent": return ("tcg", "/dev/kvm does not exist (not a .metal instance, or KVM is not loaded)");
                case "noaccess": return ("tcg", "/dev/kvm exists but this user cannot open it (add the user to the kvm group)");
            }
            if (arch == "amd64" && virtFlag.Length == 0)
                return ("tcg", "/dev/kvm exists but the CPU exposes neither vmx nor svm, so KVM guests would hang");
            return ("kvm", null);
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
