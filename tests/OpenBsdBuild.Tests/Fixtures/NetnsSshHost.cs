using System;
using System.IO;
using System.Net.Sockets;
using System.Threading;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>
    /// A stand-in for a remote Linux host: a network namespace joined to this one by a veth
    /// pair, with a private OpenSSH sshd inside. Anything started through its SSH (QEMU,
    /// builds) lives in the namespace, so a guest's loopback forward is only reachable by
    /// jumping through that sshd.
    /// </summary>
    public sealed class NetnsSshHost : IDisposable
    {
        private static int _counter;
        private readonly string _outerLink;

        public NetnsSshHost()
        {
            Tools.Require("ip", "sshd", "ssh-keygen");
            int n = (Environment.ProcessId * 7 + Interlocked.Increment(ref _counter)) % 250 + 1;
            Namespace = $"obbtest{Environment.ProcessId % 100000}n{_counter}";
            _outerLink = $"obbv{n}a{_counter}";
            OuterAddress = $"10.203.{n}.1";
            Address = $"10.203.{n}.2";
            Directory = System.IO.Directory.CreateTempSubdirectory("obb-netns-").FullName;
            StateDirectory = Path.Combine(Directory, "state");
            KeyFile = Path.Combine(Directory, "client_key");

            Tools.Sh($"ip netns del {Namespace} 2>/dev/null; ip link del {_outerLink} 2>/dev/null; " +
                     $"ip netns add {Namespace} && ip link add {_outerLink} type veth peer name obbin{_counter} && " +
                     $"ip link set obbin{_counter} netns {Namespace} && ip addr add {OuterAddress}/30 dev {_outerLink} && ip link set {_outerLink} up && " +
                     $"ip netns exec {Namespace} ip addr add {Address}/30 dev obbin{_counter} && " +
                     $"ip netns exec {Namespace} ip link set obbin{_counter} up && ip netns exec {Namespace} ip link set lo up");
            string d = Directory;
            Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -f {d}/host_key && ssh-keygen -q -t ed25519 -N '' -f {KeyFile} && " +
                     $"cp {KeyFile}.pub {d}/authorized_keys && chmod 600 {d}/authorized_keys && mkdir -p /run/sshd");
            string sftp = File.Exists("/usr/lib/openssh/sftp-server") ? "/usr/lib/openssh/sftp-server" : "internal-sftp";
            File.WriteAllText(Path.Combine(d, "sshd_config"),
                $"ListenAddress {Address}\nPort 22\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\n" +
                "UsePAM no\nStrictModes no\nPermitUserEnvironment yes\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nAllowTcpForwarding yes\n" +
                $"MaxSessions 64\nMaxStartups 64\nSubsystem sftp {sftp}\n");
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
