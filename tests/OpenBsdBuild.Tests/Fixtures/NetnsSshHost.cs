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
    /// </summary>
    public sealed class NetnsSshHost : IDisposable
    {
        private static int _counter;
        private readonly string _outerLink;

        public NetnsSshHost(bool logCommands = false)
        {
            Tools.Require("ip", "sshd", "ssh-keygen");
            if (logCommands) Tools.Require(SftpServer); // internal-sftp runs inside sshd: the wrapper could not start it
            // One increment, read once: hosts made in parallel must never share a name (each deletes a leftover of its name first).
            int id = Interlocked.Increment(ref _counter);
            int pid = Environment.ProcessId % 100000;
            int n = (Environment.ProcessId * 7 + id) % 250 + 1;
            Namespace = $"obbtest{pid}n{id}";
            _outerLink = $"obbv{pid}a{id}";
            string inner = $"obbi{pid}n{id}"; // named in this namespace first: another test process may be making its own
            OuterAddress = $"10.203.{n}.1";
            Address = $"10.203.{n}.2";
            Directory = System.IO.Directory.CreateTempSubdirectory("obb-netns-").FullName;
            StateDirectory = Path.Combine(Directory, "state");
            KeyFile = Path.Combine(Directory, "client_key");

            Tools.Sh($"ip netns del {Namespace} 2>/dev/null; ip link del {_outerLink} 2>/dev/null; " +
                     $"ip netns add {Namespace} && ip link add {_outerLink} type veth peer name {inner} && " +
                     $"ip link set {inner} netns {Namespace} && ip addr add {OuterAddress}/30 dev {_outerLink} && ip link set {_outerLink} up && " +
                     $"ip netns exec {Namespace} ip addr add {Address}/30 dev {inner} && " +
                     $"ip netns exec {Namespace} ip link set {inner} up && ip netns exec {Namespace} ip link set lo up");
            string d = Directory;
            Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -f {d}/host_key && ssh-keygen -q -t ed25519 -N '' -f {KeyFile} && " +
                     $"cp {KeyFile}.pub {d}/authorized_keys && chmod 600 {d}/authorized_keys && mkdir -p /run/sshd");
            string sftp = File.Exists(SftpServer) ? SftpServer : "internal-sftp";
            File.WriteAllText(Path.Combine(d, "sshd_config"),
                $"ListenAddress {Address}\nPort 22\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\n" +
                "UsePAM no\nStrictModes no\nPermitUserEnvironment yes\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nAllowTcpForwarding yes\n" +
                $"MaxSessions 64\nMaxStartups 64\nSubsystem sftp {sftp}\n" +
                (logCommands ? $"ForceCommand {WriteCommandLogger(d)}\nLogLevel DEBUG1\n" : ""));
            _logging = logCommands;
            Tools.Sh($"ip netns exec {Namespace} $(command -v sshd || echo /usr/sbin/sshd) -f {d}/sshd_config -E {d}/sshd.log");
            HostKeyFingerprint = Tools.Sh($"ssh-keygen -lf {d}/host_key.pub").Split(' ')[1];
            WaitForPort(Address, 22, TimeSpan.FromSeconds(10));
        }

        public string Namespace { get; }
        public string Address { get; }
        public string OuterAddress { get; }
        public string User => "root";
        public string KeyFile { get; }
        public string HostKeyFingerprint { get; }
        public string Directory { get; }
        /// <summary>A state directory of its own, so its guests never mix with local ones (same file system).</summary>
        public string StateDirectory { get; }

        public const string SftpServer = "/usr/lib/openssh/sftp-server";

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

        public string ConnectCommand => $"Connect-MetalHost -HostName {Address} -User root -KeyFile '{KeyFile}' -HostKeyFingerprint {HostKeyFingerprint} -StateDirectory '{StateDirectory}'";

        /// <summary>Runs a command inside the namespace.</summary>
        public string Exec(string command, bool allowFailure = false) =>
            Tools.Sh($"ip netns exec {Namespace} sh -c '{command.Replace("'", "'\\''")}'", allowFailure);

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
            Tools.Sh($"for p in $(ip netns pids {Namespace} 2>/dev/null); do kill -9 $p; done; ip netns del {Namespace}; ip link del {_outerLink} 2>/dev/null; rm -rf {Directory}", allowFailure: true);
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
