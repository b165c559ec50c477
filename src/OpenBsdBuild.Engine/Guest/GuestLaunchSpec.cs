namespace OpenBsdBuild.Guest
{
    /// <summary>Everything that decides a guest's QEMU command line; built by the launcher, rendered by <see cref="QemuCommandLine"/>.</summary>
    public sealed class GuestLaunchSpec
    {
        public string Name { get; set; } = "";
        public string Architecture { get; set; } = "arm64";
        /// <summary>kvm, hvf or tcg.</summary>
        public string Accelerator { get; set; } = "tcg";
        public int MemoryMB { get; set; } = 2048;
        public int CpuCount { get; set; } = 2;
        public string QemuBinary { get; set; } = "";
        public string FirmwareCode { get; set; } = "";
        public string FirmwareVars { get; set; } = "";
        public string DiskPath { get; set; } = "";
        public int SshPort { get; set; }
        public string SerialLogPath { get; set; } = "";
        public string QmpSocketPath { get; set; } = "";
        public string PidFile { get; set; } = "";
        /// <summary>Keep MSI-X on the virtio devices (off by default: lost interrupts on first-generation Graviton).</summary>
        public bool MsiX { get; set; }

        /// <summary>
        /// Install media (installNN.img) attached read-only before the disk, so the installer sees it
        /// as sd0 and the target as sd1 (docs/openbsd-notes.md); null for a normal boot.
        /// </summary>
        public string? InstallMediaPath { get; set; }

        /// <summary>
        /// Serve the serial console on this port of the host's loopback (and still log it to
        /// <see cref="SerialLogPath"/>), so the engine can read and type on it; 0 only logs.
        /// </summary>
        public int SerialPort { get; set; }

        /// <summary>Exit QEMU instead of rebooting: the end of an autoinstall (which always reboots) becomes visible.</summary>
        public bool NoReboot { get; set; }
    }
}
