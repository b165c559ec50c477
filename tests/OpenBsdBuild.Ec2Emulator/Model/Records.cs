namespace OpenBsdBuild.Emulation.Model;

// Mutable resources, only touched under Ec2State.Gate. Each can copy itself into the public
// snapshot type that tests see.

internal sealed class InstanceRecord
{
    public required string Id { get; init; }
    public required string Region { get; init; }
    public required string ReservationId { get; init; }
    public required string ImageId { get; init; }
    public required EmulatedInstanceType Type { get; init; }
    public required string AvailabilityZone { get; init; }
    public required string SubnetId { get; init; }
    public required string VpcId { get; init; }
    public string? KeyName { get; init; }
    public required List<string> SecurityGroupIds { get; init; }
    public required DateTimeOffset LaunchTime { get; init; }
    public required int LaunchIndex { get; init; }
    public string? UserDataBase64 { get; init; }
    public required string ShutdownBehavior { get; init; }
    public required string HttpTokens { get; init; }
    public required int HopLimit { get; init; }
    public required string HttpEndpoint { get; init; }
    public string? ClientToken { get; init; }
    public required string RootDeviceName { get; init; }

    public bool IsSpot { get; init; }
    public string? SpotMaxPrice { get; init; }
    public string? SpotRequestId { get; init; }

    public string? PrivateIp { get; set; }
    public string? PublicIp { get; set; }

    public EmulatedInstanceState State { get; set; } = EmulatedInstanceState.Pending;

    /// <summary>When the current transitional state (pending, shutting-down, stopping) may end.</summary>
    public DateTimeOffset TransitionDue { get; set; }

    public DateTimeOffset? RunningSince { get; set; }
    /// <summary>The console output EC2 posted after the instance turned running (GetConsoleOutput without Latest).</summary>
    public string? BufferedConsole { get; set; }
    public string? StateReasonCode { get; set; }
    public string? StateReasonMessage { get; set; }
    public string? TransitionReason { get; set; }
    public bool TerminatedByInstanceShutdown { get; set; }
    public bool TerminatedUnderneath { get; set; }

    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    /// <summary>Device name → volume id, in attach order.</summary>
    public List<(string Device, string VolumeId)> Volumes { get; } = [];

    public bool IsGone => State == EmulatedInstanceState.Terminated;

    public EmulatedInstance ToSnapshot() => new()
    {
        InstanceId = Id,
        Region = Region,
        ReservationId = ReservationId,
        ImageId = ImageId,
        InstanceType = Type.InstanceType,
        Architecture = Type.Architecture,
        AvailabilityZone = AvailabilityZone,
        SubnetId = SubnetId,
        VpcId = VpcId,
        KeyName = KeyName,
        SecurityGroupIds = SecurityGroupIds.ToList(),
        State = State,
        LaunchTime = LaunchTime,
        PrivateIpAddress = PrivateIp,
        PublicIpAddress = PublicIp,
        UserDataBase64 = UserDataBase64,
        Tags = new Dictionary<string, string>(Tags),
        VolumeIds = Volumes.Select(v => v.VolumeId).ToList(),
        ShutdownBehavior = ShutdownBehavior,
        TerminatedByInstanceShutdown = TerminatedByInstanceShutdown,
        TerminatedUnderneath = TerminatedUnderneath,
        StateReasonCode = StateReasonCode,
        StateTransitionReason = TransitionReason,
        IsSpot = IsSpot,
        SpotMaxPrice = SpotMaxPrice,
        SpotInstanceRequestId = SpotRequestId,
        HttpTokens = HttpTokens,
        HttpPutResponseHopLimit = HopLimit,
        HttpEndpoint = HttpEndpoint,
        ClientToken = ClientToken,
    };
}

internal sealed class SecurityGroupRecord
{
    public required string Id { get; init; }
    public required string Region { get; init; }
    public required string Name { get; init; }
    public required string Description { get; init; }
    public required string VpcId { get; init; }
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);
    public List<EmulatedSecurityGroupRule> Rules { get; } = [];

    public EmulatedSecurityGroup ToSnapshot() => new()
    {
        GroupId = Id,
        GroupName = Name,
        Description = Description,
        VpcId = VpcId,
        Region = Region,
        Tags = new Dictionary<string, string>(Tags),
        Rules = Rules.ToList(),
    };
}

internal sealed class KeyPairRecord
{
    public required string Id { get; init; }
    public required string Region { get; init; }
    public required string Name { get; init; }
    public required string KeyType { get; init; }
    public required string Fingerprint { get; init; }
    public required string PublicKey { get; init; }
    public required DateTimeOffset CreateTime { get; init; }
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    public EmulatedKeyPair ToSnapshot() => new()
    {
        KeyPairId = Id,
        KeyName = Name,
        Region = Region,
        KeyType = KeyType,
        KeyFingerprint = Fingerprint,
        PublicKey = PublicKey,
        CreateTime = CreateTime,
        Tags = new Dictionary<string, string>(Tags),
    };
}

internal sealed class VolumeRecord
{
    public required string Id { get; init; }
    public required string Region { get; init; }
    public required string AvailabilityZone { get; init; }
    public required int Size { get; init; }
    public required string VolumeType { get; init; }
    public required bool Encrypted { get; init; }
    public int? Iops { get; init; }
    public int? Throughput { get; init; }
    public string? SnapshotId { get; init; }
    public required DateTimeOffset CreateTime { get; init; }
    public required bool DeleteOnTermination { get; init; }

    public string State { get; set; } = "in-use";
    public string? InstanceId { get; set; }
    public string? Device { get; set; }
    public DateTimeOffset? AttachTime { get; set; }
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    public EmulatedVolume ToSnapshot() => new()
    {
        VolumeId = Id,
        Region = Region,
        AvailabilityZone = AvailabilityZone,
        SizeGiB = Size,
        VolumeType = VolumeType,
        Encrypted = Encrypted,
        Iops = Iops,
        Throughput = Throughput,
        SnapshotId = SnapshotId,
        State = State,
        InstanceId = InstanceId,
        Device = Device,
        DeleteOnTermination = DeleteOnTermination,
        CreateTime = CreateTime,
        Tags = new Dictionary<string, string>(Tags),
    };
}
