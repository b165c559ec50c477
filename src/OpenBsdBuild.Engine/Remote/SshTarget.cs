using System;

namespace OpenBsdBuild.Remote
{
    /// <summary>Everything needed to open an SSH session to one machine.</summary>
    public sealed class SshTarget
    {
        public SshTarget(string host, int port, string user, string keyFile, HostKeyPolicy hostKeys)
        {
            Host = host;
            Port = port;
            User = user;
            KeyFile = keyFile;
            HostKeys = hostKeys;
        }

        public string Host { get; }
        public int Port { get; }
        public string User { get; }
        /// <summary>Path of an OpenSSH-format private key on this machine.</summary>
        public string KeyFile { get; }
        public HostKeyPolicy HostKeys { get; }
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(20);

        /// <summary>
        /// What to call the machine when its address says little: a guest is reached at 127.0.0.1 and a
        /// random forwarded port, so messages and -Verbose name it "build@obsd-1a2b3c" instead.
        /// </summary>
        public string? Name { get; set; }

        /// <summary>What runs the far end's crypto, which decides the cipher order (<see cref="SshAlgorithms"/>).</summary>
        public SshFarEnd FarEnd { get; set; } = SshFarEnd.BuildMachine;

        public override string ToString() => Name != null ? $"{User}@{Name}" : $"{User}@{Host}:{Port}";
    }

    /// <summary>The kind of machine at the other end of an SSH session.</summary>
    public enum SshFarEnd
    {
        /// <summary>An OpenBSD guest or instance: its CPU may lack AES instructions (TCG) and its LibreSSL has no ARMv8 AES code.</summary>
        BuildMachine,
        /// <summary>A Linux host (metal host, existing box): OpenSSH on OpenSSL with AES instructions.</summary>
        LinuxHost,
    }
}
