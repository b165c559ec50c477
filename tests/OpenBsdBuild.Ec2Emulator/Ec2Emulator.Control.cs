using OpenBsdBuild.Emulation.Model;

namespace OpenBsdBuild.Emulation;

// The test-facing control surface. Everything here is thread-safe: reads take the state lock,
// apply due transitions (so what a test sees matches what the next Describe* would say), and
// return copies.
public sealed partial class Ec2Emulator
{
    private T Read<T>(Func<T> read)
    {
        lock (_state.Gate)
        {
            _state.Advance();
            return read();
        }
    }

    private void Write(Action write)
    {
        lock (_state.Gate)
        {
            _state.Advance();
            write();
        }
    }

    // ---- resources ---------------------------------------------------------------------------

    /// <summary>All instances ever launched (all regions), by instance id.</summary>
    public IReadOnlyDictionary<string, EmulatedInstance> Instances =>
        Read(() => _state.Instances.Values.ToDictionary(i => i.Id, i => i.ToSnapshot()));

    /// <summary>All security groups (including each VPC's "default"), by group id.</summary>
    public IReadOnlyDictionary<string, EmulatedSecurityGroup> SecurityGroups =>
        Read(() => _state.SecurityGroups.Values.ToDictionary(g => g.Id, g => g.ToSnapshot()));

    /// <summary>All key pairs, by key pair id (key-…). Names are unique per region only.</summary>
    public IReadOnlyDictionary<string, EmulatedKeyPair> KeyPairs =>
        Read(() => _state.KeyPairs.Values.ToDictionary(k => k.Id, k => k.ToSnapshot()));

    /// <summary>All volumes, by volume id; DeleteOnTermination ones stay here with State "deleted".</summary>
    public IReadOnlyDictionary<string, EmulatedVolume> Volumes =>
        Read(() => _state.Volumes.Values.ToDictionary(v => v.Id, v => v.ToSnapshot()));

    public IReadOnlyList<EmulatedVpc> Vpcs => Read(() => _state.Regions.Values.SelectMany(r => r.Vpcs).ToList());

    public IReadOnlyList<EmulatedSubnet> Subnets => Read(() => _state.Regions.Values.SelectMany(r => r.Subnets).ToList());

    public IReadOnlyList<EmulatedImage> Images => Read(() => _state.Regions.Values.SelectMany(r => r.Images).ToList());

    public IReadOnlyList<EmulatedInstanceType> InstanceTypes => Catalog.InstanceTypes;

    public EmulatedVpc DefaultVpc(string? region = null) =>
        Read(() => _state.Region(region ?? _state.Options.DefaultRegion).DefaultVpc);

    /// <summary>The default-VPC subnet of a zone (e.g. "us-east-1b").</summary>
    public EmulatedSubnet DefaultSubnet(string availabilityZone) =>
        Subnets.Single(s => s.AvailabilityZone == availabilityZone && s.DefaultForAz);

    /// <summary>The one subnet of the region's second, non-default VPC.</summary>
    public EmulatedSubnet OtherVpcSubnet(string? region = null) =>
        Subnets.Single(s => s.Region == (region ?? _state.Options.DefaultRegion) && !s.DefaultForAz);

    /// <summary>Adds an image (its Region must be one of the emulator's).</summary>
    public void AddImage(EmulatedImage image) => Write(() => _state.Region(image.Region).Images.Add(image));

    public string? GetSsmParameter(string name, string? region = null) =>
        Read(() => _state.Region(region ?? _state.Options.DefaultRegion).SsmParameters.GetValueOrDefault(name));

    public void SetSsmParameter(string name, string value, string? region = null) =>
        Write(() => _state.Region(region ?? _state.Options.DefaultRegion).SsmParameters[name] = value);

    /// <summary>Adds or removes an instance type from a zone's offerings (Unsupported when launched there).</summary>
    public void SetOffered(string instanceType, string availabilityZone, bool offered) => Write(() =>
    {
        if (offered) _state.Offerings.Add((instanceType, availabilityZone));
        else _state.Offerings.Remove((instanceType, availabilityZone));
    });

    /// <summary>Current spot price (defaults to 40% of on-demand); a MaxPrice below it fails with SpotMaxPriceTooLow.</summary>
    public void SetSpotPrice(string instanceType, string availabilityZone, decimal price) =>
        Write(() => _state.SpotPrices[(instanceType, availabilityZone)] = price);

    // ---- timing and providers ------------------------------------------------------------------

    /// <summary>How long new instances stay pending (applies to launches after the change).</summary>
    public TimeSpan PendingDelay
    {
        get => Read(() => _state.PendingDelay);
        set => Write(() => _state.PendingDelay = value);
    }

    /// <summary>How long terminating instances stay shutting-down (applies to terminations after the change).</summary>
    public TimeSpan ShuttingDownDelay
    {
        get => Read(() => _state.ShuttingDownDelay);
        set => Write(() => _state.ShuttingDownDelay = value);
    }

    /// <summary>How long after reaching running GetConsoleOutput has no output.</summary>
    public TimeSpan ConsoleOutputDelay
    {
        get => Read(() => _state.ConsoleOutputDelay);
        set => Write(() => _state.ConsoleOutputDelay = value);
    }

    /// <summary>
    /// An instance's console as it is at the moment of the call; null means "no output yet".
    /// GetConsoleOutput with Latest=true asks it on every call; without Latest it returns what it
    /// said when the instance turned running (EC2's buffered post). Called under the emulator's
    /// lock: keep it quick and don't block on other threads using the emulator.
    /// </summary>
    public Func<EmulatedInstance, string?>? ConsoleOutputProvider
    {
        get => Read(() => _state.ConsoleOutputProvider);
        set => Write(() => _state.ConsoleOutputProvider = value);
    }

    /// <summary>
    /// Addresses for a newly launched instance (e.g. a real sshd in a network namespace).
    /// Either may be null to keep the emulator's own. Called under the emulator's lock at launch.
    /// </summary>
    public Func<EmulatedInstance, (string? PublicIp, string? PrivateIp)>? AddressProvider
    {
        get => Read(() => _state.AddressProvider);
        set => Write(() => _state.AddressProvider = value);
    }

    /// <summary>
    /// What the instance's metadata service answers (IMDS, docs/compatibility.md): its id; the local hostname
    /// EC2 gives an IPv4 instance, ip-A-B-C-D.ec2.internal in us-east-1 and ip-A-B-C-D.REGION.compute.internal
    /// elsewhere; the public key of its key pair as imported; its user data; its metadata options.
    /// </summary>
    public Imds.ImdsInstance MetadataOf(string instanceId) => Read(() =>
    {
        var i = FindInstance(instanceId);
        string ip = (i.PrivateIp ?? "0.0.0.0").Replace('.', '-');
        var key = i.KeyName is null ? null : _state.KeyPairs.Values.FirstOrDefault(k => k.Name == i.KeyName && k.Region == i.Region);
        return new Imds.ImdsInstance
        {
            InstanceId = i.Id,
            LocalHostname = i.Region == "us-east-1" ? $"ip-{ip}.ec2.internal" : $"ip-{ip}.{i.Region}.compute.internal",
            PublicKey = key is null ? null : (key.Name, key.PublicKey.Trim()),
            UserData = i.UserDataBase64 is null ? null : Convert.FromBase64String(i.UserDataBase64),
            HttpTokens = i.HttpTokens,
            HttpPutResponseHopLimit = i.HopLimit,
            HttpEndpointEnabled = i.HttpEndpoint != "disabled",
        };
    });

    // ---- faults --------------------------------------------------------------------------------

    /// <summary>
    /// The next <paramref name="count"/> requests for <paramref name="action"/> ("*" for any, SSM
    /// actions too) fail with <paramref name="errorCode"/>. The HTTP status defaults to EC2's for
    /// that code (503 RequestLimitExceeded, 500 InsufficientInstanceCapacity/InternalError, else 400).
    /// The SDK retries 5xx and throttling codes by itself, so each retry consumes one.
    /// </summary>
    public void FailNext(string action, string errorCode, string? message = null, int count = 1, int? httpStatus = null) =>
        _faults.FailNext(action, errorCode, message, count, httpStatus);

    /// <summary>
    /// The next <paramref name="count"/> requests (any action) are answered by something in front of
    /// EC2 instead (a proxy or load balancer): an HTML page with <paramref name="httpStatus"/>, no AWS error document.
    /// </summary>
    public void ServeErrorPage(int httpStatus, int count) => _faults.ServeErrorPage(httpStatus, count);

    private readonly Dictionary<string, Ec2Emulator> _accounts = new(StringComparer.Ordinal);

    /// <summary>
    /// Requests signed with <paramref name="accessKeyId"/> act in another AWS account: they are answered
    /// by <paramref name="account"/> (an emulator started with that account's <see cref="Ec2EmulatorOptions.AccountId"/>),
    /// with its resources, on this endpoint. As on AWS, an access key belongs to exactly one account, and
    /// one account's groups, key pairs and instances are "not found" from another.
    /// </summary>
    public void AddAccount(string accessKeyId, Ec2Emulator account)
    {
        lock (_accounts) _accounts[accessKeyId] = account;
    }

    private Ec2Emulator? AccountFor(string accessKeyId)
    {
        lock (_accounts) return _accounts.GetValueOrDefault(accessKeyId);
    }

    /// <summary>Scripted failures not yet consumed.</summary>
    public int PendingFailures => _faults.PendingFailures;

    public void ClearFailures() => _faults.ClearFailures();

    /// <summary>
    /// RunInstances of <paramref name="instanceType"/> fails with InsufficientInstanceCapacity in
    /// <paramref name="availabilityZone"/> (null: every zone) until called again with insufficient=false.
    /// </summary>
    public void InsufficientCapacity(string instanceType, string? availabilityZone = null, bool insufficient = true) =>
        _faults.SetCapacity(instanceType, availabilityZone, available: !insufficient);

    /// <summary>
    /// GetConsoleOutput with Latest=true fails with <paramref name="errorCode"/> (HTTP 400), as on an
    /// instance type outside the Nitro system, where the API reference says Latest is not supported, or
    /// on an EC2-compatible endpoint that does not know the parameter; without Latest it still answers.
    /// The code real EC2 returns there is not documented: UnsupportedOperation (a documented client
    /// error) stands for it. Null serves Latest again.
    /// </summary>
    public void RefuseLatestConsoleOutput(string? errorCode = "UnsupportedOperation") => _faults.LatestConsoleRefusal = errorCode;

    /// <summary>
    /// The next <paramref name="count"/> requests of <paramref name="action"/> are carried out, but their answers are
    /// lost on the way: the connection stays silent until the caller gives up (a Ctrl+C or a network drop mid-request).
    /// </summary>
    public void LoseAnswers(string action, int count = 1) => _faults.LoseAnswers(action, count);

    /// <summary>While true, instances never leave pending; when released they proceed on the next look.</summary>
    public void StuckPending(bool stuck) => Write(() => _faults.StuckPending = stuck);

    public bool IsStuckPending => _faults.StuckPending;

    /// <summary>
    /// Ends an instance from outside the API, as a spot interruption or host failure does:
    /// shutting-down (for ShuttingDownDelay), then terminated, with the given state reason.
    /// </summary>
    public void TerminateUnderneath(string instanceId, string reasonCode = "Server.SpotInstanceTermination") => Write(() =>
    {
        var instance = FindInstance(instanceId);
        if (instance.State is EmulatedInstanceState.ShuttingDown or EmulatedInstanceState.Terminated) return;
        _state.BeginTermination(instance, reasonCode, $"{reasonCode}: Instance terminated by the service",
            $"Service initiated ({_state.Now.UtcDateTime:yyyy-MM-dd HH:mm:ss} GMT)");
        instance.TerminatedUnderneath = true;
    });

    /// <summary>
    /// The guest powered itself off (e.g. <c>shutdown -p now</c>). With
    /// InstanceInitiatedShutdownBehavior=terminate the instance terminates and
    /// <see cref="EmulatedInstance.TerminatedByInstanceShutdown"/> is set; otherwise it stops.
    /// </summary>
    public void ShutdownFromInstance(string instanceId) => Write(() =>
    {
        var instance = FindInstance(instanceId);
        if (instance.State != EmulatedInstanceState.Running) return;
        if (instance.ShutdownBehavior == "terminate")
        {
            _state.BeginTermination(instance, "Client.InstanceInitiatedShutdown",
                "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
                $"User initiated ({_state.Now.UtcDateTime:yyyy-MM-dd HH:mm:ss} GMT)");
            instance.TerminatedByInstanceShutdown = true;
        }
        else
        {
            _state.BeginStop(instance, "Client.InstanceInitiatedShutdown", "Client.InstanceInitiatedShutdown: Instance initiated shutdown");
        }
    });

    private InstanceRecord FindInstance(string instanceId) =>
        _state.Instances.TryGetValue(instanceId, out var i)
            ? i
            : throw new KeyNotFoundException($"No emulated instance {instanceId}.");

    // ---- request log ---------------------------------------------------------------------------

    /// <summary>Every request answered since start (or the last <see cref="ResetCounters"/>), in order.</summary>
    public IReadOnlyList<EmulatorRequest> Requests => _log.Snapshot();

    /// <summary>How many requests named <paramref name="action"/> were answered (errors included).</summary>
    public int CountOf(string action) => _log.Count(action);

    public IReadOnlyDictionary<string, int> ActionCounts => _log.Counts();

    /// <summary>Access key ids seen in SigV4 credential scopes.</summary>
    public IReadOnlyCollection<string> SeenAccessKeyIds =>
        _log.Snapshot().Select(r => r.AccessKeyId).OfType<string>().Distinct().ToList();

    /// <summary>Regions seen in SigV4 credential scopes.</summary>
    public IReadOnlyCollection<string> SeenRegions =>
        _log.Snapshot().Select(r => r.Region).OfType<string>().Distinct().ToList();

    /// <summary>Clears the request log (and so all counts).</summary>
    public void ResetCounters() => _log.Clear();

    /// <summary>Exceptions thrown by the emulator itself (answered as InternalError). Should stay empty.</summary>
    public IReadOnlyList<Exception> UnhandledExceptions
    {
        get { lock (_unhandled) return _unhandled.ToList(); }
    }
}
