using System;

namespace OpenBsdBuild.Model
{
    /// <summary>
    /// An OpenBSD EC2 instance (New-OpenBsdInstance) that is the build machine itself: no metal host, no
    /// QEMU, no jump. It is a guest whose host is the same instance seen from EC2 (<see cref="OpenBsdGuest.Host"/>,
    /// with <see cref="MetalHost.Native"/> set), so Invoke-GuestBuild takes it as it takes any guest, and
    /// Remove-MetalHost terminates the instance with its key pair and security group.
    /// </summary>
    public sealed class OpenBsdInstance : OpenBsdGuest
    {
        internal OpenBsdInstance(MetalHost instance, string name) : base(instance, name, "")
        {
        }

        /// <summary>The address SSH reaches directly (public where the subnet gives one).</summary>
        public string Address => Host.HostName ?? "";
        public string? InstanceId => Host.InstanceId;
        public string? InstanceType => Host.InstanceType;
        public string? Region => Host.Region;
        public string? AvailabilityZone => Host.AvailabilityZone;
        /// <summary>The AMI it was launched from.</summary>
        public string? ImageId { get; internal set; }
        public bool Spot => Host.Spot;
        public DateTime LaunchTime => Host.LaunchTime;
        /// <summary>When its self-destruct powers it off (and so terminates it), even if this session dies.</summary>
        public DateTime? ExpiresAt => Host.ExpiresAt;
        public decimal? PricePerHour => Host.PricePerHour;
        public decimal? CostSoFar => Host.CostSoFar;

        public override string ToString() => Name;
    }
}
