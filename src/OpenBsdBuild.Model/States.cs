namespace OpenBsdBuild.Model
{
    /// <summary>Where a host stands for this session (its EC2 instance's own state is <see cref="MetalHost.InstanceState"/>).</summary>
    public enum HostState
    {
        /// <summary>Attached or launched, with a live session: guests can start on it.</summary>
        Ready,
        /// <summary>Found by Get-MetalHost in EC2 without a session (Remove-MetalHost ends it; Connect-MetalHost cannot use it).</summary>
        Listed,
        /// <summary>Disconnect-MetalHost closed its session; the machine itself still runs.</summary>
        Disconnected,
        /// <summary>Ended: an EC2 host terminated, an attached one let go with its guests stopped.</summary>
        Removed,
    }

    /// <summary>Where a guest (or a native instance, the build machine itself) stands.</summary>
    public enum GuestState
    {
        /// <summary>QEMU launched, SSH not answering yet.</summary>
        Starting,
        /// <summary>Answering on SSH with the expected host key; this session holds its connection.</summary>
        Running,
        /// <summary>QEMU runs, but another session started it: listed from the host's records, no connection here.</summary>
        Detached,
        /// <summary>QEMU has ended (the guest's files may remain until Stop-OpenBsdGuest removes them).</summary>
        Stopped,
    }
}
