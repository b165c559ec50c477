using System;
using System.Collections.Generic;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>What the caller asked for, as plain values (the cmdlet fills it; the plan validates it).</summary>
    public sealed class LaunchRequest
    {
        public static readonly TimeSpan MinLifetime = TimeSpan.FromMinutes(10);
        public static readonly TimeSpan MaxLifetimeLimit = TimeSpan.FromDays(7);

        /// <summary>
        /// The native road (New-OpenBsdInstance): the AMI is OpenBSD with ena(4) and the instance is the build
        /// machine itself, so any type of the image's architecture will do, not only bare metal.
        /// </summary>
        public bool Native { get; set; }
        /// <summary>-Force on the native road: launch a type ena(4) is known not to work on (Graviton3 and later).</summary>
        public bool AllowUnsupportedInstanceType { get; set; }
        /// <summary>Native road: log in as the image's build user (its tag, else New-OpenBsdImage's default) instead of <see cref="SshUser"/>.</summary>
        public bool SshUserFromImage { get; set; }

        public string[] InstanceTypes { get; set; } = new string[0];
        public string Architecture { get; set; } = "arm64";
        public string? ImageId { get; set; }
        public string? SubnetId { get; set; }
        public string? AvailabilityZone { get; set; }
        public int RootVolumeSize { get; set; } = 64;
        public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(2);
        /// <summary>CIDR allowed to reach SSH; null: this machine's public address /32.</summary>
        public string? AllowedCidr { get; set; }
        /// <summary>-Force: an <see cref="AllowedCidr"/> broader than /16 is meant.</summary>
        public bool AllowBroadCidr { get; set; }
        /// <summary>An existing key pair; null: an ephemeral ed25519 key is generated and imported.</summary>
        public string? KeyName { get; set; }
        /// <summary>The private key of <see cref="KeyName"/>.</summary>
        public string? KeyFile { get; set; }
        public string SshUser { get; set; } = "ubuntu";
        public IDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>();
        public string? Name { get; set; }
        public bool TrustHostKey { get; set; }
        /// <summary>Launch as a one-time spot instance (interruption terminates it).</summary>
        public bool Spot { get; set; }
        /// <summary>Highest spot price to pay per hour; null: up to the on-demand price.</summary>
        public decimal? SpotMaxPrice { get; set; }
        /// <summary>When no spot capacity (or price) is found anywhere, launch on demand instead.</summary>
        public bool SpotFallbackToOnDemand { get; set; }
        public decimal? PricePerHour { get; set; }
        /// <summary>A golden image in S3 the host fetches at boot through a presigned URL.</summary>
        public S3Location? Image { get; set; }
        /// <summary>An S3-compatible endpoint for <see cref="Image"/>; null for AWS S3.</summary>
        public Uri? S3EndpointUrl { get; set; }
        public Uri? ImageUrl { get; set; }
        public string? ImageSha256 { get; set; }
        public string? StateDirectory { get; set; }

        public TimeSpan RunningTimeout { get; set; } = TimeSpan.FromMinutes(30);
        public TimeSpan ConsoleTimeout { get; set; } = TimeSpan.FromMinutes(15);
        public TimeSpan SshTimeout { get; set; } = TimeSpan.FromMinutes(10);
        public TimeSpan BootstrapTimeout { get; set; } = TimeSpan.FromMinutes(30);
        /// <summary>How often instance state is polled: a change is seen within this much (plus one round trip).</summary>
        public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
    }
}
