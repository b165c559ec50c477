using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Threading;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>
    /// A stand-in for a remote Linux host: a network namespace joined to this one by a veth
    /// pair, with a private OpenSSH sshd inside. Anything started through its SSH (QEMU,
    /// builds) lives in the namespace, so a guest's loopback forward is only reachable by
    /// jumping through that sshd.
    /// With <c>logCommands</c> it also records what clients made it do: every command (a
    /// ForceCommand wrapper logs $SSH_ORIGINAL_COMMAND, then runs it as sshd would have), every
    /// file the SFTP subsystem opened, and every port forward's target (sshd's debug log).
    /// With <c>ubuntuLogin</c> it is an Ubuntu 24.04 EC2 host as the client meets it
    /// (docs/compatibility.md, "Ubuntu 24.04 host"): the login is a non-root user of its own
    /// (cloud-init's default user, not in group kvm), and sshd and everything it starts see a /dev
    /// where /dev/kvm is root:kvm 0660 (systemd's udev rule as Debian/Ubuntu build it) and an
    /// /etc/ssh holding sshd's host key, in a mount namespace of their own. The node is real
    /// (misc 10:232) but this machine has no KVM, so opening it fails: guests here run under TCG, asked for.
    /// </summary>
    public sealed class NetnsSshHost : IDisposable
    {
        private static int _counter;
        private readonly string _outerLink;

        public NetnsSshHost(bool logCommands = false, bool ubuntuLogin = false)
        {
            Tools.Require("ip", "sshd", "ssh-keygen");
            if (logCommands) Tools.Require(SftpServer); // internal-sftp runs inside sshd: the wrapper could not start it
            // One increment, read once: hosts made in parallel must never share a name (each deletes a leftover of its name first).
            int id = Interlocked.Increment(ref _counter);
            int pid = Environment.ProcessId % 100000;
            Namespace = $"obbtest{pid}n{id}";
            _outerLink = $"obbv{pid}a{id}";
            string inner = $"obbi{pid}n{id}"; // named in this namespace first: another test process may be making its own
            Directory = System.IO.Directory.CreateTempSubdirectory("obb-netns-").FullName;
            StateDirectory = Path.Combine(Directory, "state");
            KeyFile = Path.Combine(Directory, "client_key");

            // The subnet is chosen under a machine-wide lock among those no link holds yet: several test
            // processes (parallel runs, benchmarks) share one routing table, and a shared subnet sends
            // one host's connections to the other's sshd.
            int start = (Environment.ProcessId * 7 + id) % 250 + 1;
            string n = Tools.Sh($"ip netns del {Namespace} 2>/dev/null; ip link del {_outerLink} 2>/dev/null; " +
                $"flock /tmp/obb-netns-subnets.lock sh -c 'for n in $(seq {start} 250) $(seq 1 {start}); do " +
                "ip -o -4 addr show | grep -q \" 10\\.203\\.$n\\.1/\" && continue; " +
                $"ip netns add {Namespace} && ip link add {_outerLink} type veth peer name {inner} && " +
                $"ip link set {inner} netns {Namespace} && ip addr add 10.203.$n.1/30 dev {_outerLink} && ip link set {_outerLink} up && " +
                $"ip netns exec {Namespace} ip addr add 10.203.$n.2/30 dev {inner} && " +
                $"ip netns exec {Namespace} ip link set {inner} up && ip netns exec {Namespace} ip link set lo up && echo $n; exit; done; " +
                "echo no free 10.203.x.0/30 subnet >&2; exit 1'").Trim();
            OuterAddress = $"10.203.{n}.1";
            Address = $"10.203.{n}.2";
            string d = Directory;
            Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -f {d}/host_key && ssh-keygen -q -t ed25519 -N '' -f {KeyFile} && " +
                     $"cp {KeyFile}.pub {d}/authorized_keys && chmod 600 {d}/authorized_keys && mkdir -p /run/sshd");
            if (ubuntuLogin)
            {
                Tools.Require("useradd", "userdel", "mknod");
                User = $"obbu{pid}n{id}";
                // The login reads its authorized_keys and the folder as itself; its state directory is its own.
                Tools.Sh($"userdel -r {User} >/dev/null 2>&1; groupdel {User} >/dev/null 2>&1; getent group kvm >/dev/null || groupadd --system kvm; " +
                         // Password '*': no password login, yet not "locked", which sshd without PAM would refuse outright.
                         $"useradd --create-home --home-dir {d}/home --shell /bin/bash --user-group --password '*' {User} && " +
                         $"chmod 755 {d} && chmod 644 {d}/authorized_keys && mkdir -p {StateDirectory} && chown {User}: {StateDirectory}");
            }
            string sftp = File.Exists(SftpServer) ? SftpServer : "internal-sftp";
            File.WriteAllText(Path.Combine(d, "sshd_config"),
                $"ListenAddress {Address}\nPort 22\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\n" +
                "UsePAM no\nStrictModes no\nPermitUserEnvironment yes\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nAllowTcpForwarding yes\n" +
                $"MaxSessions 64\nMaxStartups 64\nSubsystem sftp {sftp}\n" +
                (logCommands ? $"ForceCommand {WriteCommandLogger(d)}\nLogLevel DEBUG1\n" : ""));
            _logging = logCommands;
            string sshd = $"$(command -v sshd || echo /usr/sbin/sshd) -f {d}/sshd_config -E {d}/sshd.log";
            // sshd daemonizes inside a mount namespace of its own, which lives as long as it does.
            Tools.Require("unshare", "nsenter");
            string mounts = ubuntuLogin ? UbuntuMounts(d) : FreshRootShell(d);
            Tools.Sh($"ip netns exec {Namespace} unshare --mount --propagation private sh -c '{mounts} && exec {sshd}'");
            _sshdPid = ReadPidFile(Path.Combine(d, "sshd.pid"), TimeSpan.FromSeconds(10)); // the daemon writes it after its parent returned
            HostKeyFingerprint = Tools.Sh($"ssh-keygen -lf {d}/host_key.pub").Split(' ')[1];
            WaitForPort(Address, 22, TimeSpan.FromSeconds(10));
        }

        public string Namespace { get; }
        public string Address { get; }
        public string OuterAddress { get; }
        /// <summary>The SSH login: root, or with <c>ubuntuLogin</c> a non-root user made for this host.</summary>
        public string User { get; } = "root";
        public string KeyFile { get; }
        public string HostKeyFingerprint { get; }
        public string Directory { get; }
        /// <summary>A state directory of its own, so its guests never mix with local ones (same file system).</summary>
        public string StateDirectory { get; }

        public const string SftpServer = "/usr/lib/openssh/sftp-server";

        private readonly int _sshdPid;

        /// <summary>
        /// A /dev with what sshd, shells and QEMU use plus /dev/kvm root:kvm 0660, an /etc/ssh with
        /// sshd's host key (so the user data's `ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` prints it),
        /// and a /proc/cpuinfo whose x86 flags include vmx, as on metal.
        /// </summary>
        private static string UbuntuMounts(string d) =>
            $"mkdir -p {d}/dev {d}/etc-ssh && mount -t tmpfs -o mode=0755 tmpfs {d}/dev && " +
            $"cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx {d}/dev/ && " +
            $"ln -s /proc/self/fd {d}/dev/fd && ln -s /proc/self/fd/0 {d}/dev/stdin && ln -s /proc/self/fd/1 {d}/dev/stdout && ln -s /proc/self/fd/2 {d}/dev/stderr && " +
            $"mkdir {d}/dev/pts {d}/dev/shm && mount --rbind /dev/pts {d}/dev/pts && mount --rbind /dev/shm {d}/dev/shm && " +
            $"mknod -m 0660 {d}/dev/kvm c 10 232 && chown root:kvm {d}/dev/kvm && mount --rbind {d}/dev /dev && " +
            $"cp {d}/host_key /etc/ssh/moduli {d}/etc-ssh/ 2>/dev/null; mv {d}/etc-ssh/host_key {d}/etc-ssh/ssh_host_ed25519_key && " +
            $"cp {d}/host_key.pub {d}/etc-ssh/ssh_host_ed25519_key.pub && mount --bind {d}/etc-ssh /etc/ssh && " +
            // A metal x86 CPU exposes vmx to its host; this machine's may not.
            $"sed -E \"s/^(flags[[:space:]]*:)/\\1 vmx/\" /proc/cpuinfo > {d}/cpuinfo && mount --bind {d}/cpuinfo /proc/cpuinfo";

        /// <summary>
        /// Root's shell startup as on a freshly installed host: Debian's /etc/skel/.bashrc, which returns at
        /// once when not interactive. bash reads ~/.bashrc for every command sshd runs (Debian builds it with
        /// SSH_SOURCE_BASHRC), and this machine's own /root/.bashrc runs `pyenv init`, whose rehash waits 60 s
        /// on a lock that a session killed mid-login (as Dispose does) leaves behind: every later command would.
        /// </summary>
        private static string FreshRootShell(string d) =>
            $"{{ cp /etc/skel/.bashrc {d}/root-bashrc 2>/dev/null || : > {d}/root-bashrc; }} && " +
            $"{{ [ ! -e /root/.bashrc ] || mount --bind {d}/root-bashrc /root/.bashrc; }}";

        /// <summary>How to run a command as root inside this host: its network namespace, and its mounts when it has its own.</summary>
        public string RootPrefix => $"nsenter --target {_sshdPid} --mount --net --";

        /// <summary>
        /// Every command a client ran, in order (with <c>logCommands</c>). A session of the SFTP subsystem
        /// shows as <see cref="SftpServer"/>; what it did is in <see cref="SftpOpened"/>.
        /// </summary>
        public IReadOnlyList<string> ExecutedCommands() =>
            ReadLog("commands.log").Split('\0').Where(c => c.Length > 0).ToList();

        /// <summary>The files SFTP sessions opened, and whether to write (sftp-server's own log).</summary>
        public IReadOnlyList<(string Path, bool Write)> SftpOpened() =>
            Regex.Matches(ReadLog("sftp.log"), "^open \"(.*)\" flags (\\S+)", RegexOptions.Multiline)
                .Select(m => (m.Groups[1].Value, m.Groups[2].Value.Contains("WRITE"))).ToList();

        /// <summary>"host:port" of every TCP forward (direct-tcpip channel) a client opened, as sshd logged it.</summary>
        public IReadOnlyList<string> ForwardTargets() =>
            Regex.Matches(ReadLog("sshd.log"), @"server_request_direct_tcpip: originator \S+ port \d+, target (\S+) port (\d+)")
                .Select(m => m.Groups[1].Value + ":" + m.Groups[2].Value).Distinct().ToList();

        /// <summary>"host:port" of every port a client asked the server to listen on and forward back (tcpip-forward).</summary>
        public IReadOnlyList<string> ReverseForwards() =>
            Regex.Matches(ReadLog("sshd.log"), @"server_input_global_request: tcpip-forward listen (\S+) port (\d+)")
                .Select(m => m.Groups[1].Value + ":" + m.Groups[2].Value).Distinct().ToList();

        /// <summary>Forgets what was recorded so far (e.g. a fixture's own set-up), so a test sees only its own.</summary>
        public void ClearLogs()
        {
            foreach (string name in new[] { "commands.log", "sftp.log", "sshd.log" })
                if (File.Exists(Path.Combine(Directory, name))) File.WriteAllText(Path.Combine(Directory, name), ""); // sshd appends: truncating is safe
        }

        private readonly bool _logging;

        private string ReadLog(string name)
        {
            if (!_logging) throw new InvalidOperationException("This host was made without logCommands.");
            string path = Path.Combine(Directory, name);
            return File.Exists(path) ? File.ReadAllText(path) : "";
        }

        /// <summary>
        /// sshd runs a forced command as "$SHELL -c &lt;it&gt;", with the client's request in
        /// $SSH_ORIGINAL_COMMAND (for a subsystem, the subsystem's program). The wrapper logs it
        /// NUL-terminated (commands may span lines) and runs it the same way; sftp-server gets -e -l INFO
        /// so it logs each file it opens. Only shell builtins before the exec: some keys get a PATH with almost nothing.
        /// </summary>
        private static string WriteCommandLogger(string d)
        {
            string path = Path.Combine(d, "log-command");
            File.WriteAllText(path,
                "#!/bin/sh\n" +
                $"printf '%s\\0' \"${{SSH_ORIGINAL_COMMAND-}}\" >> '{d}/commands.log'\n" +
                "case \"${SSH_ORIGINAL_COMMAND-}\" in\n" +
                $"  '{SftpServer}') exec '{SftpServer}' -e -l INFO 2>> '{d}/sftp.log' ;;\n" +
                "  '') exec \"$SHELL\" -l ;;\n" +
                "esac\n" +
                "exec \"$SHELL\" -c \"$SSH_ORIGINAL_COMMAND\"\n");
            Tools.Sh($"chmod 755 {path}");
            return path;
        }

        public string ConnectCommand => $"Connect-MetalHost -HostName {Address} -User {User} -KeyFile '{KeyFile}' -HostKeyFingerprint {HostKeyFingerprint} -StateDirectory '{StateDirectory}'";

        /// <summary>Runs a command inside the namespace, as root.</summary>
        public string Exec(string command, bool allowFailure = false) =>
            Tools.Sh($"{RootPrefix} sh -c '{command.Replace("'", "'\\''")}'", allowFailure);

        /// <summary>
        /// A second client key whose sessions get a PATH holding only <paramref name="tools"/>:
        /// a host that lacks, say, QEMU, without touching this machine.
        /// </summary>
        public string AddKeyWithOnlyTools(string name, params string[] tools)
        {
            string bin = Path.Combine(Directory, name + "-bin");
            string key = Path.Combine(Directory, name + "_key");
            System.IO.Directory.CreateDirectory(bin);
            foreach (string tool in tools)
                File.CreateSymbolicLink(Path.Combine(bin, tool), Tools.Which(tool) ?? throw new InvalidOperationException(tool + " not found"));
            Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -f {key}");
            File.AppendAllText(Path.Combine(Directory, "authorized_keys"), $"environment=\"PATH={bin}\" " + File.ReadAllText(key + ".pub"));
            return key;
        }

        public void LinkDown() => Tools.Sh($"ip link set {_outerLink} down");
        public void LinkUp() => Tools.Sh($"ip link set {_outerLink} up");

        public void Dispose()
        {
            KeepDisconnects();
            Tools.Sh($"for p in $(ip netns pids {Namespace} 2>/dev/null); do kill -9 $p; done; ip netns del {Namespace}; ip link del {_outerLink} 2>/dev/null; " +
                     (User != "root" ? $"userdel -r {User} >/dev/null 2>&1; " : "") + $"rm -rf {Directory}", allowFailure: true);
        }

        /// <summary>
        /// A connection sshd dropped for a protocol error reaches the client only as a lost connection; sshd's log says why
        /// ("Disconnecting …: data packet referred to nonexistent channel 0"). Such a log outlives the host in
        /// /tmp/obb-sshd-disconnects, named on stderr.
        /// </summary>
        private void KeepDisconnects()
        {
            string log = Path.Combine(Directory, "sshd.log");
            if (!File.Exists(log) || !File.ReadLines(log).Any(l => l.Contains("Disconnecting"))) return;
            string kept = Path.Combine(System.IO.Directory.CreateDirectory("/tmp/obb-sshd-disconnects").FullName, $"{Namespace}-{DateTime.UtcNow:HHmmss}.log");
            File.Copy(log, kept, true);
            Console.Error.WriteLine($"NetnsSshHost {Namespace}: sshd dropped a connection; its log is {kept}");
        }

        private static int ReadPidFile(string path, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                if (File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out int pid)) return pid;
                if (DateTime.UtcNow > deadline) throw new TimeoutException("sshd wrote no pid file: " + path);
                Thread.Sleep(50);
            }
        }

        private static void WaitForPort(string host, int port, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                try
                {
                    using var c = new TcpClient();
                    c.Connect(host, port);
                    return;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(100);
                }
            }
        }
    }
}
