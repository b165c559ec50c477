using System;
using System.Collections.Generic;
using System.Linq;

namespace OpenBsdBuild.Model
{
    public enum HostProvider { Local, Ssh, Ec2 }

    /// <summary>
    /// A machine that can run guests: an EC2 metal instance, an existing Linux box over SSH,
    /// or this machine. Carries what it is and what it still holds, so teardown finds everything.
    /// </summary>
    public sealed class MetalHost
    {
        private readonly List<OpenBsdGuest> _guests = new List<OpenBsdGuest>();

        internal MetalHost(HostProvider provider, string name, object shell, HostCapabilities capabilities, string stateDirectory)
        {
            Provider = provider;
            Name = name;
            ShellState = shell;
            Capabilities = capabilities;
            StateDirectory = stateDirectory;
            ConnectedAt = DateTime.UtcNow;
            LaunchTime = ConnectedAt;
        }

        public string Name { get; }
        public HostProvider Provider { get; }
        public HostState State { get; internal set; } = HostState.Ready;

        /// <summary>SSH endpoint of the host (empty for the local machine).</summary>
        public string? HostName { get; internal set; }
        public int Port { get; internal set; } = 22;
        public string? User { get; internal set; }
        public string? KeyFile { get; internal set; }
        public string? HostKeyFingerprint { get; internal set; }

        /// <summary>The host's own CPU architecture: arm64 or amd64.</summary>
        public string Architecture => Capabilities.Architecture;
        /// <summary>Best accelerator for guests of the host's own architecture: kvm, hvf or tcg.</summary>
        public string Accelerator => Capabilities.NativeAccelerator;
        public HostCapabilities Capabilities { get; internal set; }

        /// <summary>Where guest overlays, logs and sockets live on the host.</summary>
        public string StateDirectory { get; }

        // EC2 details; empty for local and SSH hosts.
        public string? InstanceId { get; internal set; }
        public string? InstanceType { get; internal set; }
        public string? Region { get; internal set; }
        public string? AvailabilityZone { get; internal set; }
        public string? PublicIpAddress { get; internal set; }
        public string? PrivateIpAddress { get; internal set; }
        public string? KeyName { get; internal set; }
        public string? SecurityGroupId { get; internal set; }
        public string? RunId { get; internal set; }
        /// <summary>EC2 instance state as last seen (pending, running, shutting-down, terminated…).</summary>
        public string? InstanceState { get; internal set; }
        /// <summary>A spot instance (may be interrupted; then it terminates).</summary>
        public bool Spot { get; internal set; }
        /// <summary>An OpenBSD instance (New-OpenBsdInstance) that is itself the build machine: it runs no guests.</summary>
        public bool Native { get; internal set; }
        /// <summary>The golden image the host fetched and checked at boot (New-MetalHost -Image), as a path on the host.</summary>
        public string? GoldenImagePath { get; internal set; }
        /// <summary>Where <see cref="PricePerHour"/> came from (built-in table or -PricePerHour).</summary>
        public string? PriceSource { get; internal set; }

        /// <summary>The AWS account the host was found in (Get-MetalHost); null when not known.</summary>
        public string? AccountId { get; internal set; }
        /// <summary>Where the credentials that found it came from ("profile 'ci'", …; never the secrets), and the EC2 endpoint (null: AWS's own).</summary>
        public string? CredentialSource { get; internal set; }
        public Uri? EndpointUrl { get; internal set; }

        /// <summary>How to reach AWS for teardown, and what was made for this host (the engine's Ec2HostContext).</summary>
        internal object? Ec2State { get; set; }

        public DateTime ConnectedAt { get; }
        public DateTime LaunchTime { get; internal set; }
        public DateTime? ExpiresAt { get; internal set; }
        public decimal? PricePerHour { get; internal set; }

        public TimeSpan Age => DateTime.UtcNow - LaunchTime;

        /// <summary>On-demand cost so far at <see cref="PricePerHour"/>; null when the host is not billed by us.</summary>
        public decimal? CostSoFar => PricePerHour.HasValue ? Math.Round(PricePerHour.Value * (decimal)Age.TotalHours, 4) : (decimal?)null;

        public IReadOnlyList<OpenBsdGuest> Guests
        {
            get { lock (_guests) return _guests.ToList(); }
        }

        /// <summary>How the engine runs commands on the host (its IHostShell).</summary>
        internal object ShellState { get; set; }

        internal void AddGuest(OpenBsdGuest guest)
        {
            lock (_guests) _guests.Add(guest);
        }

        internal void RemoveGuest(OpenBsdGuest guest)
        {
            lock (_guests) _guests.Remove(guest);
        }

        public override string ToString() => Name;
    }

    /// <summary>What a host can do, probed once when it is attached.</summary>
    public sealed class HostCapabilities
    {
        public string Architecture { get; set; } = "";
        public string OperatingSystem { get; set; } = "";
        /// <summary>kvm when /dev/kvm is usable (and, on x86, the CPU exposes vmx/svm); hvf on macOS; else tcg.</summary>
        public string NativeAccelerator { get; set; } = "tcg";
        /// <summary>Whether this login can use KVM, and if not, why (what the fix is depends on it).</summary>
        public KvmState Kvm { get; set; }
        /// <summary>Why KVM cannot be used, with what to do about it; null when it can.</summary>
        public string? KvmProblem { get; set; }
        public string? QemuAarch64 { get; set; }
        public string? QemuX86_64 { get; set; }
        public string? QemuImg { get; set; }
        public string? HomeDirectory { get; set; }
        public bool HasPerl { get; set; }
    }

    /// <summary>What the host probe found about KVM for the login it ran as.</summary>
    public enum KvmState
    {
        /// <summary>Not probed, or not a Linux host (macOS uses hvf).</summary>
        NotApplicable,
        Usable,
        /// <summary>No /dev/kvm: not a metal instance, or the kvm module is not loaded.</summary>
        Absent,
        /// <summary>/dev/kvm exists but this user may not open it (e.g. root:kvm 0660 and not in kvm).</summary>
        NoAccess,
        /// <summary>The user is in /dev/kvm's group now, but this login started before that and lacks it.</summary>
        NotInThisSession,
        /// <summary>/dev/kvm opens but the x86 CPU exposes neither vmx nor svm (nested clouds): guests would hang.</summary>
        NoCpuSupport,
    }
}
