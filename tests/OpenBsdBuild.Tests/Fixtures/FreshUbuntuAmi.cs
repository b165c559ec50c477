using System;
using System.IO;
using System.Threading;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>
    /// What a fresh Ubuntu 24.04 AMI looks like to the user data, in a folder: no QEMU on the PATH,
    /// and an `apt-get` with apt 2.7's locking (docs/compatibility.md, "Ubuntu 24.04 host"):
    /// `install` takes the dpkg frontend lock and waits for it only as long as
    /// `-o DPkg::Lock::Timeout=N` says (default 0: fail at once, exit 100); `update` takes the
    /// package lists lock and never waits. The boot-time apt runs (apt-daily's `apt-get update`,
    /// then apt-daily-upgrade's unattended-upgrades) are a background process holding those locks.
    /// Installing qemu-system-arm / qemu-system-x86 / qemu-utils links this machine's binaries in,
    /// so what the script does next works for real. Every apt-get call is logged.
    /// The locks are flock(1) locks on the fixture's own files, not apt's fcntl locks: only the
    /// fixture's apt-get and boot-time runs use them.
    /// </summary>
    public sealed class FreshUbuntuAmi
    {
        public FreshUbuntuAmi(string directory)
        {
            Tools.Require("flock", "bash");
            Root = directory;
            Directory.CreateDirectory(SystemBin);
            Directory.CreateDirectory(Path.Combine(Root, "var/lib/dpkg"));
            Directory.CreateDirectory(Path.Combine(Root, "var/lib/apt/lists"));
            // Everything this machine has, except QEMU: the AMI does not carry it.
            Tools.Sh($"for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do for f in $d/*; do n=${{f##*/}}; " +
                     $"case $n in qemu-*|apt-get) ;; *) [ -e '{SystemBin}'/$n ] || ln -s $f '{SystemBin}'/$n ;; esac; done; done");
            File.WriteAllText(Path.Combine(SystemBin, "apt-get"), AptGet());
            Tools.Sh($"chmod 755 '{SystemBin}/apt-get'");
        }

        public string Root { get; }
        /// <summary>Put this on the PATH instead of the system's directories.</summary>
        public string SystemBin => Path.Combine(Root, "sysbin");
        public string AptLog => File.Exists(Path.Combine(Root, "apt.log")) ? File.ReadAllText(Path.Combine(Root, "apt.log")) : "";

        /// <summary>
        /// Starts the boot-time apt runs: the package lists lock held until a caller's `apt-get update` has been
        /// refused once (so a loaded machine cannot start the caller after the lock is gone; at most 5 min) and for
        /// <paramref name="update"/> more, then the dpkg frontend lock for <paramref name="upgrade"/>.
        /// Returns once the first is held.
        /// </summary>
        public void StartBootTimeAptRuns(TimeSpan update, TimeSpan upgrade)
        {
            string ready = Path.Combine(Root, "boot-apt.ready");
            string lists = Path.Combine(Root, "var/lib/apt/lists/lock"), frontend = Path.Combine(Root, "var/lib/dpkg/lock-frontend");
            string refusedOnce = $"i=0; until grep -q \"update: lock busy\" \"{Root}/apt.log\" 2>/dev/null || [ $i -ge 3000 ]; do sleep 0.1; i=$((i+1)); done";
            Tools.Sh($"(flock '{lists}' sh -c 'touch \"{ready}\"; {refusedOnce}; sleep {update.TotalSeconds}'; " +
                     $"flock '{frontend}' sleep {upgrade.TotalSeconds}) >/dev/null 2>&1 </dev/null &");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!File.Exists(ready))
            {
                if (DateTime.UtcNow > deadline) throw new TimeoutException("the boot-time apt run did not start");
                Thread.Sleep(50);
            }
        }

        /// <summary>
        /// apt-get as apt 2.7.14 behaves for what the user data asks of it. Messages follow apt's
        /// (apt-pkg/contrib/fileutl.cc GetLock, apt-pkg/deb/debsystem.cc, apt-pkg/acquire.cc).
        /// </summary>
        private string AptGet() =>
            "#!/bin/bash\n" +
            $"root='{Root}'; bin='{SystemBin}'\n" +
            "echo \"apt-get $*\" >> \"$root/apt.log\"\n" +
            "timeout=0; cmd=; pkgs=()\n" +
            "while [ $# -gt 0 ]; do\n" +
            "  case \"$1\" in\n" +
            "    -o) shift; case \"${1,,}\" in dpkg::lock::timeout=*) timeout=${1#*=} ;; esac ;;\n" +
            "    -o*) case \"${1:2}\" in [Dd][Pp][Kk][Gg]::[Ll]ock::[Tt]imeout=*) timeout=${1#*=} ;; esac ;;\n" +
            "    -*) ;;\n" +
            "    *) if [ -z \"$cmd\" ]; then cmd=$1; else pkgs+=(\"$1\"); fi ;;\n" +
            "  esac; shift\n" +
            "done\n" +
            "case \"$cmd\" in\n" +
            "  update)\n" +
            "    exec 9> \"$root/var/lib/apt/lists/lock\"\n" +
            "    if ! flock -n 9; then echo 'E: Could not get lock /var/lib/apt/lists/lock. It is held by process 1201 (apt-get)' >&2; echo 'E: Unable to lock directory /var/lib/apt/lists/' >&2; echo 'update: lock busy' >> \"$root/apt.log\"; exit 100; fi\n" +
            "    echo 'Reading package lists... Done'; echo 'update: done' >> \"$root/apt.log\" ;;\n" +
            "  install)\n" +
            "    exec 9> \"$root/var/lib/dpkg/lock-frontend\"\n" +
            "    if [ \"$timeout\" -lt 0 ] 2>/dev/null; then flock 9; ok=$?; elif [ \"$timeout\" -gt 0 ] 2>/dev/null; then flock -w \"$timeout\" 9; ok=$?; else flock -n 9; ok=$?; fi\n" +
            "    if [ $ok -ne 0 ]; then echo 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 1342 (unattended-upgr)' >&2; " +
            "echo 'E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?' >&2; echo 'install: lock busy' >> \"$root/apt.log\"; exit 100; fi\n" +
            "    for p in \"${pkgs[@]}\"; do\n" +
            "      case \"$p\" in\n" +
            "        qemu-system-arm) ln -sf \"$(PATH=/usr/bin:/bin command -v qemu-system-aarch64)\" \"$bin/qemu-system-aarch64\" ;;\n" +
            "        qemu-system-x86) ln -sf \"$(PATH=/usr/bin:/bin command -v qemu-system-x86_64)\" \"$bin/qemu-system-x86_64\" ;;\n" +
            "        qemu-utils) ln -sf \"$(PATH=/usr/bin:/bin command -v qemu-img)\" \"$bin/qemu-img\" ;;\n" +
            "      esac\n" +
            "    done\n" +
            "    echo \"install: done ${pkgs[*]}\" >> \"$root/apt.log\" ;;\n" +
            "  *) echo \"E: Invalid operation $cmd\" >&2; exit 100 ;;\n" +
            "esac\n";
    }
}
