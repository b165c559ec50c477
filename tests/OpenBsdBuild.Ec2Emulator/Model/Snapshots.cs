namespace OpenBsdBuild.Emulation;

// Public, immutable views of emulator state for tests. Each is a copy taken under the
// emulator's lock, so a test can hold one while the emulator keeps changing.

/// <summary>EC2 instance states with their wire codes.</summary>
public enum EmulatedInstanceState
{
    Pending = 0,
    Running = 16,
    ShuttingDown = 32,
    Terminated = 48,
    Stopping = 64,
    Stopped = 80,
}

public static class EmulatedInstanceStateExtensions
{
    /// <summary>The name EC2 puts on the wire: pending, running, shutting-down, …</summary>
    public static string ToWire(this EmulatedInstanceState state) => state switch
    {
        EmulatedInstanceState.ShuttingDown => "shutting-down",
        _ => state.ToString().ToLowerInvariant(),
    };
}

public sealed record EmulatedInstance
{
    public required string InstanceId { get; init; }
    public required string Region { get; init; }
    public required string ReservationId { get; init; }
    public required string ImageId { get; init; }
    public required string InstanceType { get; init; }
    public required string Architecture { get; init; }
    public required string AvailabilityZone { get; init; }
    public required string SubnetId { get; init; }
    public required string VpcId { get; init; }
    public string? KeyName { get; init; }
    public required IReadOnlyList<string> SecurityGroupIds { get; init; }
    public required EmulatedInstanceState State { get; init; }
    public required DateTimeOffset LaunchTime { get; init; }
    public string? PrivateIpAddress { get; init; }
    public string? PublicIpAddress { get; init; }

    /// <summary>User data as sent (base64), or null.</summary>
    public string? UserDataBase64 { get; init; }

    /// <summary>User data decoded as UTF-8 text, or null.</summary>
    public string? UserData => UserDataBase64 is null ? null : System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(UserDataBase64));

    public required IReadOnlyDictionary<string, string> Tags { get; init; }
    public required IReadOnlyList<string> VolumeIds { get; init; }

    /// <summary>"stop" (EC2's default) or "terminate".</summary>
    public required string ShutdownBehavior { get; init; }

    /// <summary>True when the guest shut itself down and ShutdownBehavior=terminate ended the instance.</summary>
    public bool TerminatedByInstanceShutdown { get; init; }

    /// <summary>True when the emulator ended it from underneath (spot interruption) rather than the API.</summary>
    public bool TerminatedUnderneath { get; init; }

    public string? StateReasonCode { get; init; }
    public string? StateTransitionReason { get; init; }
    public bool IsSpot { get; init; }
    public string? SpotMaxPrice { get; init; }
    public string? SpotInstanceRequestId { get; init; }
    public required string HttpTokens { get; init; }
    public required int HttpPutResponseHopLimit { get; init; }
    public required string HttpEndpoint { get; init; }
    public string? ClientToken { get; init; }
}

public sealed record EmulatedSecurityGroupRule(
    string RuleId,
    bool IsEgress,
    string IpProtocol,
    int? FromPort,
    int? ToPort,
    string? CidrIpv4,
    string? CidrIpv6,
    string? ReferencedGroupId,
    string? Description);

public sealed record EmulatedSecurityGroup
{
    public required string GroupId { get; init; }
    public required string GroupName { get; init; }
    public required string Description { get; init; }
    public required string VpcId { get; init; }
    public required string Region { get; init; }
    public required IReadOnlyDictionary<string, string> Tags { get; init; }
    public required IReadOnlyList<EmulatedSecurityGroupRule> Rules { get; init; }
    public bool IsDefault => GroupName == "default";
}

public sealed record EmulatedKeyPair
{
    public required string KeyPairId { get; init; }
    public required string KeyName { get; init; }
    public required string Region { get; init; }
    public required string KeyType { get; init; }
    public required string KeyFingerprint { get; init; }
    public required string PublicKey { get; init; }
    public required DateTimeOffset CreateTime { get; init; }
    public required IReadOnlyDictionary<string, string> Tags { get; init; }
}

public sealed record EmulatedVolume
{
    public required string VolumeId { get; init; }
    public required string Region { get; init; }
    public required string AvailabilityZone { get; init; }
    public required int SizeGiB { get; init; }
    public required string VolumeType { get; init; }
    public required bool Encrypted { get; init; }
    public int? Iops { get; init; }
    public int? Throughput { get; init; }
    public string? SnapshotId { get; init; }

    /// <summary>in-use, available, or deleted (kept so tests can see DeleteOnTermination happened).</summary>
    public required string State { get; init; }

    public string? InstanceId { get; init; }
    public string? Device { get; init; }
    public required bool DeleteOnTermination { get; init; }
    public required DateTimeOffset CreateTime { get; init; }
    public required IReadOnlyDictionary<string, string> Tags { get; init; }
}

public sealed record EmulatedVpc(string VpcId, string Region, string CidrBlock, bool IsDefault);

public sealed record EmulatedSubnet(
    string SubnetId,
    string VpcId,
    string Region,
    string AvailabilityZone,
    string AvailabilityZoneId,
    string CidrBlock,
    bool DefaultForAz,
    bool MapPublicIpOnLaunch);

public sealed record EmulatedImage(
    string ImageId,
    string Region,
    string Name,
    string OwnerId,
    string Architecture,
    DateTimeOffset CreationDate,
    string RootDeviceName = "/dev/sda1",
    int RootVolumeSizeGiB = 8,
    string RootVolumeType = "gp3",
    string? Description = null)
{
    // What RegisterImage sets; null on the seeded catalog images, which DescribeImages fills in as Canonical's are.
    public string? BootMode { get; init; }
    public bool? EnaSupport { get; init; }
    public string? ImdsSupport { get; init; }

    /// <summary>The snapshot behind the root device (a registered AMI's own; catalog images have a derived one).</summary>
    public string? RootSnapshotId { get; init; }

    public bool DeleteOnTermination { get; init; } = true;
    public bool IsPublic { get; init; } = true;
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();
}

public sealed record EmulatedInstanceType(
    string InstanceType,
    string Architecture,
    int VCpus,
    int Cores,
    int ThreadsPerCore,
    long MemoryMiB,
    double ClockGhz,
    bool BareMetal,
    decimal OnDemandPrice);

/// <summary>One request as the emulator saw it, for assertions and benchmarks.</summary>
public sealed record EmulatorRequest(
    DateTimeOffset Timestamp,
    string Service,
    string Action,
    string? AccessKeyId,
    string? Region,
    int StatusCode,
    string? ErrorCode,
    TimeSpan Duration,
    IReadOnlyDictionary<string, string> Parameters,
    IReadOnlyDictionary<string, string> Headers);
