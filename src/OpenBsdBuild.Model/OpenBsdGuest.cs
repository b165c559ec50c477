using System;

namespace OpenBsdBuild.Model
{
    /// <summary>
    /// One running VM on a host, reachable by SSH through a port forward on the host's loopback.
    /// Open for one subclass, <see cref="OpenBsdInstance"/>: an OpenBSD EC2 instance that is its own build machine.
    /// </summary>
    public class OpenBsdGuest
    {
        internal OpenBsdGuest(MetalHost host, string name, string stateDirectory)
        {
            Host = host;
            Name = name;
            StateDirectory = stateDirectory;
        }

        public string Name { get; }
        public MetalHost Host { get; }
        public string HostName => Host.Name;
        public GuestState State { get; internal set; } = GuestState.Starting;

        public string Image { get; internal set; } = "";
        public string Architecture { get; internal set; } = "arm64";
        public string? OsVersion { get; internal set; }
        public string Accelerator { get; internal set; } = "tcg";
        public int MemoryMB { get; internal set; }
        public int CpuCount { get; internal set; }

        public int? ProcessId { get; internal set; }
        /// <summary>The guest's SSH, forwarded to this port on the host's 127.0.0.1.</summary>
        public int SshPort { get; internal set; }
        public string User { get; internal set; } = "root";
        public string? KeyFile { get; internal set; }
        public string? HostKeyFingerprint { get; internal set; }

        public string StateDirectory { get; }
        public string SerialLogPath => StateDirectory + "/serial.log";
        public string QmpSocketPath => StateDirectory + "/qmp.sock";
        public string OverlayPath => StateDirectory + "/disk.qcow2";

        public DateTime StartedAt { get; internal set; }
        public TimeSpan? BootTime { get; internal set; }
        public bool MsiX { get; internal set; }

        /// <summary>Open SSH session to the guest, through the host when it is remote (the engine's IHostShell).</summary>
        internal object? ShellState { get; set; }

        public override string ToString() => $"{Name}@{Host.Name}";
    }
}
