using System;
using System.Collections.Generic;

namespace OpenBsdBuild.Guest
{
    /// <summary>What the user asked for when starting a guest.</summary>
    public sealed class GuestOptions
    {
        public string? Name { get; set; }
        /// <summary>Path of a qcow2 or raw image on the host. Never modified: the guest writes to an overlay.</summary>
        public string Image { get; set; } = "";
        /// <summary>arm64 or amd64; null takes it from the image metadata, else the host's own.</summary>
        public string? Architecture { get; set; }
        public int MemoryMB { get; set; } = 2048;
        public int CpuCount { get; set; } = 2;
        public TimeSpan BootTimeout { get; set; } = TimeSpan.FromMinutes(5);
        /// <summary>Port on the host's loopback for the guest's SSH; 0 picks a free one.</summary>
        public int SshPort { get; set; }
        public string? User { get; set; }
        public string KeyFile { get; set; } = "";
        public IReadOnlyList<string> HostKeyFingerprints { get; set; } = Array.Empty<string>();
        public bool TrustHostKey { get; set; }
        public bool MsiX { get; set; }
        /// <summary>Force an accelerator (kvm, hvf, tcg); null picks the best that works.</summary>
        public string? Accelerator { get; set; }
        public string? FirmwareCode { get; set; }
        public string? FirmwareVars { get; set; }
    }
}
