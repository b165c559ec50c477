using System.Globalization;
using System.Net;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Model;

/// <summary>One region's fixed network and image layout.</summary>
internal sealed class RegionState
{
    public required string Name { get; init; }
    public required IReadOnlyList<string> Zones { get; init; }
    public List<EmulatedVpc> Vpcs { get; } = [];
    public List<EmulatedSubnet> Subnets { get; } = [];
    public List<EmulatedImage> Images { get; } = [];
    public Dictionary<string, string> SsmParameters { get; } = new(StringComparer.Ordinal);

    public EmulatedVpc DefaultVpc => Vpcs.First(v => v.IsDefault);
}

/// <summary>
/// Everything the emulator knows. All reads and writes happen under <see cref="Gate"/>; the
/// HTTP handlers take it for a whole request, so each API call is atomic like EC2's are.
/// Time-driven state changes are applied lazily by <see cref="Advance"/> whenever anyone looks.
/// </summary>
internal sealed class Ec2State
{
    private readonly Random _random;
    private readonly Dictionary<string, int> _nextHost = new(StringComparer.Ordinal);

    public Ec2State(Ec2EmulatorOptions options, FaultPlan faults)
    {
        Options = options;
        Faults = faults;
        Imports = new VmImport(this, options);
        _random = new Random(options.Seed);
        PendingDelay = options.PendingDelay;
        ShuttingDownDelay = options.ShuttingDownDelay;
        ConsoleOutputDelay = options.ConsoleOutputDelay;
        foreach (var (name, zones) in options.Regions) Regions[name] = SeedRegion(name, zones);
    }

    public object Gate { get; } = new();
    public Ec2EmulatorOptions Options { get; }
    public FaultPlan Faults { get; }
    public string AccountId => Options.AccountId;
    public DateTimeOffset Now => Options.TimeProvider.GetUtcNow();

    public TimeSpan PendingDelay { get; set; }
    public TimeSpan ShuttingDownDelay { get; set; }
    public TimeSpan ConsoleOutputDelay { get; set; }
    public Func<EmulatedInstance, string?>? ConsoleOutputProvider { get; set; }

    /// <summary>An instance's console as it is now: the test's provider, or a short default.</summary>
    public string? ConsoleText(InstanceRecord i) =>
        ConsoleOutputProvider is { } provide
            ? provide(i.ToSnapshot())
            : $"[    0.000000] Linux version 6.8.0 (emulated console of {i.Id})\r\ncloud-init: {i.Id} booted\r\n";
    public Func<EmulatedInstance, (string? PublicIp, string? PrivateIp)>? AddressProvider { get; set; }

    public Dictionary<string, RegionState> Regions { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, InstanceRecord> Instances { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, SecurityGroupRecord> SecurityGroups { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, KeyPairRecord> KeyPairs { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, VolumeRecord> Volumes { get; } = new(StringComparer.Ordinal);

    /// <summary>ImportSnapshot tasks, EBS snapshots and the AMIs registered from them.</summary>
    public VmImport Imports { get; }

    /// <summary>A region's seeded catalog images followed by the AMIs registered there.</summary>
    public IEnumerable<EmulatedImage> ImagesIn(RegionState region) =>
        region.Images.Concat(Imports.Images.Values.Where(i => i.Region == region.Name).Select(i => i.ToSnapshot()));

    /// <summary>(instance type, zone) pairs that are offered.</summary>
    public HashSet<(string InstanceType, string Zone)> Offerings { get; } = [];

    public Dictionary<(string InstanceType, string Zone), decimal> SpotPrices { get; } = [];

    /// <summary>RunInstances ClientToken → (reservation, request fingerprint), per region.</summary>
    public Dictionary<(string Region, string Token), (string ReservationId, string Fingerprint)> ClientTokens { get; } = [];

    public RegionState Region(string name) =>
        Regions.TryGetValue(name, out var r)
            ? r
            : throw new Ec2Error("AuthFailure", $"Region '{name}' is not enabled in this emulator.");

    /// <summary>A fresh EC2-style id: prefix, dash, 17 hex digits.</summary>
    public string NewId(string prefix)
    {
        Span<byte> bytes = stackalloc byte[8];
        _random.NextBytes(bytes);
        return prefix + "-0" + Convert.ToHexStringLower(bytes);
    }

    public EmulatedInstanceType? FindType(string name) =>
        Catalog.InstanceTypes.FirstOrDefault(t => t.InstanceType == name);

    // ---- time-driven lifecycle -------------------------------------------------------------

    /// <summary>Moves every instance whose transition is due to its next state.</summary>
    public void Advance()
    {
        var now = Now;
        Imports.Advance(now);
        foreach (var i in Instances.Values)
        {
            if (now < i.TransitionDue) continue;
            switch (i.State)
            {
                case EmulatedInstanceState.Pending when !Faults.StuckPending:
                    i.State = EmulatedInstanceState.Running;
                    i.RunningSince = now;
                    i.BufferedConsole = ConsoleText(i); // the post that follows a transition; later output needs Latest
                    break;
                case EmulatedInstanceState.ShuttingDown:
                    FinishTermination(i);
                    break;
                case EmulatedInstanceState.Stopping:
                    i.State = EmulatedInstanceState.Stopped;
                    break;
            }
        }
    }

    /// <summary>Starts shutting an instance down; returns the state it was in.</summary>
    public EmulatedInstanceState BeginTermination(InstanceRecord i, string reasonCode, string reasonMessage, string transitionReason)
    {
        var previous = i.State;
        if (previous is EmulatedInstanceState.Terminated or EmulatedInstanceState.ShuttingDown) return previous;
        i.State = EmulatedInstanceState.ShuttingDown;
        i.TransitionDue = Now + ShuttingDownDelay;
        i.StateReasonCode = reasonCode;
        i.StateReasonMessage = reasonMessage;
        i.TransitionReason = transitionReason;
        return previous;
    }

    private void FinishTermination(InstanceRecord i)
    {
        i.State = EmulatedInstanceState.Terminated;
        i.PublicIp = null; // EC2 releases the public address; the private one stays on the record
        foreach (var (_, volumeId) in i.Volumes)
        {
            if (!Volumes.TryGetValue(volumeId, out var v)) continue;
            v.State = v.DeleteOnTermination ? "deleted" : "available";
            v.InstanceId = null;
            v.Device = null;
            v.AttachTime = null;
        }
    }

    public void BeginStop(InstanceRecord i, string reasonCode, string reasonMessage)
    {
        i.State = EmulatedInstanceState.Stopping;
        i.TransitionDue = Now + ShuttingDownDelay;
        i.StateReasonCode = reasonCode;
        i.StateReasonMessage = reasonMessage;
        i.TransitionReason = $"User initiated ({Now.UtcDateTime:yyyy-MM-dd HH:mm:ss} GMT)";
    }

    // ---- addresses --------------------------------------------------------------------------

    /// <summary>The next free host address in a subnet (skipping the 4 AWS reserves at the start).</summary>
    public string NextPrivateIp(EmulatedSubnet subnet)
    {
        var n = _nextHost.TryGetValue(subnet.SubnetId, out var used) ? used + 1 : 4;
        _nextHost[subnet.SubnetId] = n;
        var baseAddress = IPAddress.Parse(subnet.CidrBlock.Split('/')[0]).GetAddressBytes();
        var value = (uint)(baseAddress[0] << 24 | baseAddress[1] << 16 | baseAddress[2] << 8 | baseAddress[3]) + (uint)n;
        return new IPAddress([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]).ToString();
    }

    /// <summary>
    /// Default public addresses are loopback (127.77.x.y) on purpose: a test that forgets an
    /// AddressProvider and connects anyway stays on this machine and fails fast.
    /// </summary>
    public string NextPublicIp()
    {
        var n = _nextHost.TryGetValue("public", out var used) ? used + 1 : 1;
        _nextHost["public"] = n;
        return $"127.77.{n / 250 % 250}.{n % 250 + 1}";
    }

    public static string PrivateDnsName(string region, string ip) =>
        region == "us-east-1"
            ? $"ip-{ip.Replace('.', '-')}.ec2.internal"
            : $"ip-{ip.Replace('.', '-')}.{region}.compute.internal";

    public static string PublicDnsName(string region, string ip) =>
        region == "us-east-1"
            ? $"ec2-{ip.Replace('.', '-')}.compute-1.amazonaws.com"
            : $"ec2-{ip.Replace('.', '-')}.{region}.compute.amazonaws.com";

    public decimal SpotPrice(EmulatedInstanceType type, string zone) =>
        SpotPrices.TryGetValue((type.InstanceType, zone), out var p) ? p : Math.Round(type.OnDemandPrice * 0.4m, 4);

    // ---- seeding ----------------------------------------------------------------------------

    private RegionState SeedRegion(string name, string[] zones)
    {
        var region = new RegionState { Name = name, Zones = zones };

        // Default VPC: 172.31.0.0/16 with a /20 per zone, public IPs on launch — as every account has.
        var defaultVpc = new EmulatedVpc(Catalog.DerivedId("vpc", name + "/default"), name, "172.31.0.0/16", IsDefault: true);
        region.Vpcs.Add(defaultVpc);
        for (var z = 0; z < zones.Length; z++)
        {
            region.Subnets.Add(new EmulatedSubnet(
                Catalog.DerivedId("subnet", $"{name}/default/{zones[z]}"), defaultVpc.VpcId, name, zones[z],
                Catalog.ZoneId(name, zones[z]), $"172.31.{z * 16}.0/20", DefaultForAz: true, MapPublicIpOnLaunch: true));
        }

        // A second VPC with one private subnet, for "subnet and group in different VPCs" cases.
        var other = new EmulatedVpc(Catalog.DerivedId("vpc", name + "/other"), name, "10.20.0.0/16", IsDefault: false);
        region.Vpcs.Add(other);
        region.Subnets.Add(new EmulatedSubnet(
            Catalog.DerivedId("subnet", $"{name}/other/{zones[0]}"), other.VpcId, name, zones[0],
            Catalog.ZoneId(name, zones[0]), "10.20.1.0/24", DefaultForAz: false, MapPublicIpOnLaunch: false));

        // Every VPC comes with a "default" security group that allows traffic from itself.
        foreach (var vpc in region.Vpcs)
        {
            var sg = new SecurityGroupRecord
            {
                Id = Catalog.DerivedId("sg", $"{name}/{vpc.VpcId}/default"),
                Region = name,
                Name = "default",
                Description = "default VPC security group",
                VpcId = vpc.VpcId,
            };
            sg.Rules.Add(new EmulatedSecurityGroupRule(Catalog.DerivedId("sgr", sg.Id + "/in"), false, "-1", null, null, null, null, sg.Id, null));
            sg.Rules.Add(new EmulatedSecurityGroupRule(Catalog.DerivedId("sgr", sg.Id + "/out"), true, "-1", null, null, "0.0.0.0/0", null, null, null));
            SecurityGroups[sg.Id] = sg;
        }

        region.Images.AddRange(Catalog.ImagesFor(name));
        foreach (var (param, value) in Catalog.SsmParametersFor(region.Images)) region.SsmParameters[param] = value;

        foreach (var type in Catalog.InstanceTypes)
        foreach (var zone in zones)
        {
            if (!Catalog.NotOffered.Any(n => n.InstanceType == type.InstanceType && zone.EndsWith(n.ZoneSuffix, StringComparison.Ordinal)))
                Offerings.Add((type.InstanceType, zone));
        }

        return region;
    }

    public static string FormatPrice(decimal price) => price.ToString("0.000000", CultureInfo.InvariantCulture);
}
