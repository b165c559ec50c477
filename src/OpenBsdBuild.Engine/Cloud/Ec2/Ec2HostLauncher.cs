using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Timing;
using OpenBsdBuild.Hosts;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// Makes a metal host: key pair, security group, instance; waits for it to run, pins its SSH
    /// host key from the console, connects, follows the bootstrap to ready. On any failure or
    /// cancellation everything created so far is removed before the error surfaces.
    /// </summary>
    public static class Ec2HostLauncher
    {
        public const string Activity = "New-MetalHost";

        private static readonly string[] CapacityErrors = { "InsufficientInstanceCapacity", "Unsupported", "InsufficientHostCapacity" };
        private static readonly string[] SpotErrors = { "SpotMaxPriceTooLow", "InsufficientSpotCapacity", "MaxSpotInstanceCountExceeded" };

        /// <summary>Validates everything without creating anything (for -WhatIf and early errors).</summary>
        public static async Task<LaunchPlan> PlanAsync(AwsConnectionOptions connection, LaunchRequest request, IOperationReporter reporter, CancellationToken ct)
        {
            using var aws = Ec2Connection.Open(connection, reporter);
            reporter.Verbose($"AWS: region {aws.Region}, credentials from {aws.CredentialSource}.");
            return await LaunchPlan.CreateAsync(aws, request, reporter, ct).ConfigureAwait(false);
        }

        /// <param name="plan">A plan from <see cref="PlanAsync"/> for the same request, so the checks are not repeated.</param>
        public static Task<MetalHost> LaunchAsync(AwsConnectionOptions connection, LaunchRequest request, IOperationReporter reporter, CancellationToken ct,
            LaunchPlan? plan = null) =>
            LaunchInstanceAsync(connection, request, Activity, reporter, ct, plan, MetalUserData, FinishMetalHostAsync);

        private static string MetalUserData(LaunchPlan plan) => UserDataScript.Render(new UserDataOptions
        {
            Architecture = plan.Request.Architecture,
            LoginUser = plan.Request.SshUser,
            MaxLifetime = plan.Request.MaxLifetime,
            ImageUrl = plan.GoldenImageUrl ?? plan.Request.ImageUrl,
            ImageSha256 = plan.GoldenImage?.Metadata.Sha256 ?? plan.Request.ImageSha256,
            // The sidecar travels with the image: guests started from it need its host keys and build user.
            ImageMetadataJson = plan.GoldenImage?.Metadata.ToJson(),
        });

        /// <summary>
        /// The metal road after SSH answers: follow the bootstrap (QEMU, golden image), probe, and describe the host.
        /// Every host command runs with the link watched: a link that dies silently is HostLost in ~20 s, and the
        /// launch's clean-up removes the instance.
        /// </summary>
        private static async Task<MetalHost> FinishMetalHostAsync(LaunchedInstance li, IOperationReporter reporter, CancellationToken ct)
        {
            var request = li.Plan.Request;
            string id = li.InstanceId;
            const string Removed = "New-MetalHost removes the instance, its security group and key pair.";
            // li.Shell is read at each call: a second login replaces it.
            Task<T> Watched<T>(string step, Func<CancellationToken, Task<T>> work) =>
                LinkWatch.RunAsync(li.Shell, work, (why, inner) => new OpenBsdBuildException("HostLost", FailureKind.ConnectionError,
                    $"{id} ({li.Target.Host}) {why} while New-MetalHost {step}; the link to it may be down. {Removed}", id,
                    "Check that the network path to the instance holds (-AllowedCidr, firewalls, VPN), then launch again.", inner), ct);

            await Watched("followed its bootstrap", c => FollowBootstrapAsync(li.Shell, id, request.BootstrapTimeout, reporter, c)).ConfigureAwait(false);

            var caps = await HostProbe.ProbeWatchedAsync(li.Shell, id, Removed, ct).ConfigureAwait(false);
            if (caps.Kvm == KvmState.NotInThisSession)
            {
                // The user data gave the login user /dev/kvm's group after this login began; only a new login has it.
                reporter.Verbose($"{id}: {caps.KvmProblem}; logging in again.");
                await li.ReconnectAsync(reporter, ct).ConfigureAwait(false);
                caps = await HostProbe.ProbeWatchedAsync(li.Shell, id, Removed, ct).ConfigureAwait(false);
            }
            if (caps.NativeAccelerator != "kvm")
                reporter.Verbose($"{id} cannot use KVM: {caps.KvmProblem}. Starting a guest on it is refused unless -Accelerator tcg asks for emulation.");
            string? goldenImagePath = null;
            if (li.Plan.GoldenImageUrl != null || request.ImageUrl != null)
                goldenImagePath = (await Watched("asked where its golden image is",
                    c => li.Shell.RunAsync("echo \"" + UserDataScript.StateDirectoryExpression + "/images/golden.qcow2\"", c)).ConfigureAwait(false)).Stdout.Trim();
            string stateDir = !string.IsNullOrEmpty(request.StateDirectory) ? request.StateDirectory!.TrimEnd('/') : (caps.HomeDirectory ?? "/tmp").TrimEnd('/') + "/.openbsdbuild";
            var host = li.Describe(caps, stateDir);
            host.GoldenImagePath = goldenImagePath;
            return host;
        }

        /// <summary>
        /// What both roads share: key pair, /32 security group, the instance (IMDSv2 required, terminate on
        /// shutdown, encrypted gp3, tags, capacity fallback, spot), running, host key pinned from the console,
        /// SSH connected; then <paramref name="finish"/> makes the road's object. On any failure or
        /// cancellation, including one inside <paramref name="finish"/>, everything created is removed first.
        /// </summary>
        internal static async Task<T> LaunchInstanceAsync<T>(AwsConnectionOptions connection, LaunchRequest request, string activity,
            IOperationReporter reporter, CancellationToken ct, LaunchPlan? plan,
            Func<LaunchPlan, string> userData, Func<LaunchedInstance, IOperationReporter, CancellationToken, Task<T>> finish)
        {
            using var aws = Ec2Connection.Open(connection, reporter);
            reporter.Verbose($"AWS: region {aws.Region}, credentials from {aws.CredentialSource}.");
            reporter.Progress(activity, "Checking the request against " + aws.Region);
            plan ??= await LaunchPlan.CreateAsync(aws, request, reporter, ct).ConfigureAwait(false);
            reporter.Verbose($"Image {plan.ImageId} (from {plan.ImageSource}); candidates: {string.Join(", ", plan.Candidates)}; SSH from {plan.AllowedCidr}.");

            var naming = new LaunchNaming(request);
            var made = new Made();
            try
            {
                var (keyName, keyFile) = await KeyPairAsync(aws, request, naming, made, reporter, ct).ConfigureAwait(false);
                string groupId = await SshOnlySecurityGroupAsync(aws, plan, naming, made, reporter, ct).ConfigureAwait(false);
                var launchClock = Stopwatch.StartNew();
                Instance launched = await RunWithFallbackAsync(aws, plan, keyName, groupId, userData(plan), naming.RunId, naming.Tags(), made, activity, reporter, ct).ConfigureAwait(false);
                Instance running = await WaitRunningAsync(aws, launched, request, activity, reporter, ct).ConfigureAwait(false);
                string id = running.InstanceId;
                string address = running.PublicIpAddress ?? running.PrivateIpAddress ??
                    throw new OpenBsdBuildException("NoAddress", FailureKind.InvalidResult, $"{id} is running but has no IP address.", id,
                        "Use a subnet that assigns public addresses (-SubnetId).");
                HostKeyPolicy policy = await HostKeyPolicyAsync(aws, id, request, activity, reporter, ct).ConfigureAwait(false);

                // The native road's instance is the OpenBSD build machine itself; the metal road's is a Linux host.
                var target = new SshTarget(address, 22, plan.LoginUser, keyFile, policy)
                {
                    ConnectTimeout = TimeSpan.FromSeconds(15),
                    FarEnd = request.Native ? SshFarEnd.BuildMachine : SshFarEnd.LinuxHost,
                };
                made.Shell = await ConnectAsync(target, id, request.SshTimeout, activity, reporter, ct).ConfigureAwait(false);

                var li = new LaunchedInstance(aws, connection, plan, made, target, activity)
                {
                    Running = running,
                    Name = naming.Name,
                    RunId = naming.RunId,
                    KeyName = keyName,
                    SecurityGroupId = groupId,
                    OwnsKeyPair = naming.Ephemeral,
                    CreatedAt = naming.CreatedAt,
                    ExpiresAt = naming.ExpiresAt,
                    SinceLaunch = launchClock.Elapsed,
                };
                T result = await finish(li, reporter, ct).ConfigureAwait(false);
                reporter.ProgressDone(activity);
                return result;
            }
            catch (Exception failure)
            {
                reporter.Progress(activity, "Removing what was created after: " + failure.Message);
                await CleanUpAsync(aws, made, reporter).ConfigureAwait(false);
                reporter.ProgressDone(activity);
                throw;
            }
        }

        /// <summary>The run's id, name, owner and lifetime, and the tags every resource of the run carries.</summary>
        private sealed class LaunchNaming
        {
            private readonly LaunchRequest _request;

            public LaunchNaming(LaunchRequest request)
            {
                _request = request;
                RunId = "obb-" + Guid.NewGuid().ToString("N").Substring(0, 12);
                Name = string.IsNullOrEmpty(request.Name) ? "openbsdbuild-" + RunId : request.Name!;
                CreatedAt = DateTime.UtcNow;
                ExpiresAt = CreatedAt + request.MaxLifetime;
                Ephemeral = string.IsNullOrEmpty(request.KeyName);
            }

            public string RunId { get; }
            public string Name { get; }
            public string Owner { get; } = Environment.UserName + "@" + Environment.MachineName;
            public DateTime CreatedAt { get; }
            public DateTime ExpiresAt { get; }
            /// <summary>No -KeyName: the key pair is made here, in memory, and deleted with the host.</summary>
            public bool Ephemeral { get; }

            public List<Tag> Tags()
            {
                var tags = Ec2Tags.For(RunId, Owner, CreatedAt, ExpiresAt, Name, _request.Tags, Ephemeral);
                if (_request.Native) tags.Add(new Tag(Ec2Tags.Road, "native"));
                return tags;
            }

            public List<TagSpecification> TagsFor(ResourceType type) => new List<TagSpecification> { new TagSpecification { ResourceType = type, Tags = Tags() } };
        }

        /// <summary>The key pair to log in with: the caller's (-KeyName, -KeyFile), or an ed25519 pair made in memory and imported.</summary>
        private static async Task<(string KeyName, string KeyFile)> KeyPairAsync(Ec2Connection aws, LaunchRequest request, LaunchNaming naming, Made made,
            IOperationReporter reporter, CancellationToken ct)
        {
            if (!naming.Ephemeral) return (request.KeyName!, request.KeyFile!);
            made.Key = EphemeralKeyPair.Generate(naming.Name);
            await aws.Ec2.ImportKeyPairAsync(new ImportKeyPairRequest
            {
                KeyName = naming.Name,
                PublicKeyMaterial = made.Key.ImportMaterial,
                TagSpecifications = naming.TagsFor(ResourceType.KeyPair),
            }, ct).ConfigureAwait(false);
            made.KeyName = naming.Name;
            reporter.Verbose($"Imported ephemeral ed25519 key pair {naming.Name}.");
            return (naming.Name, made.Key.PrivateKeyFile);
        }

        /// <summary>A security group of the run's own that lets in SSH from the allowed range only.</summary>
        private static async Task<string> SshOnlySecurityGroupAsync(Ec2Connection aws, LaunchPlan plan, LaunchNaming naming, Made made,
            IOperationReporter reporter, CancellationToken ct)
        {
            var sg = await aws.Ec2.CreateSecurityGroupAsync(new CreateSecurityGroupRequest
            {
                GroupName = naming.Name,
                Description = "OpenBsdBuild host " + naming.RunId + ": SSH from " + plan.AllowedCidr,
                VpcId = plan.VpcId,
                TagSpecifications = naming.TagsFor(ResourceType.SecurityGroup),
            }, ct).ConfigureAwait(false);
            made.SecurityGroupId = sg.GroupId;
            await aws.Ec2.AuthorizeSecurityGroupIngressAsync(new AuthorizeSecurityGroupIngressRequest
            {
                GroupId = sg.GroupId,
                IpPermissions = new List<IpPermission>
                {
                    new IpPermission { IpProtocol = "tcp", FromPort = 22, ToPort = 22, Ipv4Ranges = new List<IpRange> { new IpRange { CidrIp = plan.AllowedCidr, Description = "OpenBsdBuild SSH" } } },
                },
            }, ct).ConfigureAwait(false);
            reporter.Verbose($"Security group {sg.GroupId} allows SSH from {plan.AllowedCidr}.");
            return sg.GroupId;
        }

        /// <summary>pending → running; an instance that ends instead is this launch's failure.</summary>
        private static async Task<Instance> WaitRunningAsync(Ec2Connection aws, Instance launched, LaunchRequest request, string activity,
            IOperationReporter reporter, CancellationToken ct)
        {
            string id = launched.InstanceId;
            var clock = Stopwatch.StartNew();
            Instance running = await InstanceWaiter.WaitAsync(aws.Ec2, id, "starting",
                i => i.State?.Name == InstanceStateName.Running,
                i => i.State?.Name == InstanceStateName.ShuttingDown || i.State?.Name == InstanceStateName.Terminated || i.State?.Name == InstanceStateName.Stopped
                    ? "ended (" + i.State.Name.Value + ")" : null,
                request.RunningTimeout, request.PollInterval,
                i => reporter.Progress(activity, $"{id} ({launched.InstanceType} in {launched.Placement?.AvailabilityZone}): {i?.State?.Name?.Value ?? "pending"}, {clock.Elapsed.TotalSeconds:0} s"),
                ct).ConfigureAwait(false);
            reporter.Verbose($"{id} running after {clock.Elapsed.TotalSeconds:0.0} s.");
            return running;
        }

        /// <summary>The host key from the console: no trust on first use (unless -TrustHostKey).</summary>
        private static async Task<HostKeyPolicy> HostKeyPolicyAsync(Ec2Connection aws, string id, LaunchRequest request, string activity,
            IOperationReporter reporter, CancellationToken ct)
        {
            HostKeyPolicy policy = request.TrustHostKey
                ? HostKeyPolicy.TrustAnyKey()
                : HostKeyPolicy.Pinned(await ReadFingerprintsAsync(aws.Ec2, id, request, activity, reporter, ct).ConfigureAwait(false));
            reporter.Verbose($"Host key policy for {id}: {policy}.");
            return policy;
        }

        /// <summary>An instance up to its first SSH login, on its way to becoming a host or a build machine.</summary>
        internal sealed class LaunchedInstance
        {
            private readonly Made _made;

            internal LaunchedInstance(Ec2Connection aws, AwsConnectionOptions connection, LaunchPlan plan, Made made, SshTarget target, string activity)
            {
                Aws = aws;
                Connection = connection;
                Plan = plan;
                _made = made;
                Target = target;
                Activity = activity;
            }

            public Ec2Connection Aws { get; }
            public AwsConnectionOptions Connection { get; }
            public LaunchPlan Plan { get; }
            public SshTarget Target { get; }
            public string Activity { get; }
            public Instance Running { get; set; } = null!;
            public string InstanceId => Running.InstanceId;
            public string Name { get; set; } = "";
            public string RunId { get; set; } = "";
            public string KeyName { get; set; } = "";
            public string SecurityGroupId { get; set; } = "";
            public bool OwnsKeyPair { get; set; }
            public DateTime CreatedAt { get; set; }
            public DateTime ExpiresAt { get; set; }
            /// <summary>From RunInstances to the first SSH login.</summary>
            public TimeSpan SinceLaunch { get; set; }
            public SshShell Shell => _made.Shell!;

            /// <summary>A fresh login (a group added after the first one began reaches only a new session).</summary>
            public async Task ReconnectAsync(IOperationReporter reporter, CancellationToken ct)
            {
                _made.Shell?.Dispose();
                _made.Shell = null;
                _made.Shell = await ConnectAsync(Target, InstanceId, Plan.Request.SshTimeout, Activity, reporter, ct).ConfigureAwait(false);
            }

            /// <summary>The EC2 side as a MetalHost: what teardown, Get-MetalHost and cost reports need.</summary>
            public MetalHost Describe(HostCapabilities caps, string stateDirectory)
            {
                var request = Plan.Request;
                bool isSpot = Running.InstanceLifecycle == InstanceLifecycleType.Spot;
                // For spot, the on-demand price (or the max price) is what we can promise: an upper bound.
                decimal? price = request.PricePerHour ?? (isSpot && request.SpotMaxPrice.HasValue ? request.SpotMaxPrice : MetalPrices.For(Running.InstanceType.Value));
                return new MetalHost(HostProvider.Ec2, InstanceId, Shell, caps, stateDirectory)
                {
                    HostName = Target.Host,
                    Port = 22,
                    User = Target.User,
                    KeyFile = Target.KeyFile,
                    HostKeyFingerprint = Shell.HostKeyFingerprint,
                    InstanceId = InstanceId,
                    InstanceType = Running.InstanceType.Value,
                    Region = Aws.Region,
                    AvailabilityZone = Running.Placement?.AvailabilityZone,
                    PublicIpAddress = Running.PublicIpAddress,
                    PrivateIpAddress = Running.PrivateIpAddress,
                    KeyName = KeyName,
                    SecurityGroupId = SecurityGroupId,
                    RunId = RunId,
                    LaunchTime = Running.LaunchTime?.ToUniversalTime() ?? CreatedAt,
                    ExpiresAt = ExpiresAt,
                    PricePerHour = price,
                    PriceSource = request.PricePerHour.HasValue ? "-PricePerHour" : !price.HasValue ? null
                        : isSpot ? "spot, upper bound (" + (request.SpotMaxPrice.HasValue ? "-SpotMaxPrice" : MetalPrices.Source) + ")" : MetalPrices.Source,
                    Spot = isSpot,
                    Native = request.Native,
                    InstanceState = "running",
                    Ec2 = new Ec2HostContext(Connection) { OwnsKeyPair = OwnsKeyPair, EphemeralKey = _made.Key },
                };
            }
        }

        /// <summary>What a launch has created so far, in creation order.</summary>
        internal sealed class Made
        {
            public EphemeralKeyPair? Key;
            public string? KeyName;
            public string? SecurityGroupId;
            public string? InstanceId;
            /// <summary>
            /// The client token of a RunInstances that was sent but not answered (Ctrl+C or a dropped connection
            /// mid-request): EC2 may have launched an instance whose id this process never saw.
            /// </summary>
            public string? UnansweredLaunch;
            public SshShell? Shell;
        }

        private static async Task<Instance> RunWithFallbackAsync(Ec2Connection aws, LaunchPlan plan, string keyName, string groupId, string userData,
            string runId, List<Tag> tags, Made made, string activity, IOperationReporter reporter, CancellationToken ct)
        {
            var tried = new List<string>();
            int attempt = 0;
            // Spot everywhere first; on demand everywhere only when asked to fall back.
            var attempts = new List<(LaunchCandidate Candidate, bool Spot)>();
            if (plan.Request.Spot) attempts.AddRange(plan.Candidates.Select(c => (c, true)));
            if (!plan.Request.Spot || plan.Request.SpotFallbackToOnDemand) attempts.AddRange(plan.Candidates.Select(c => (c, false)));
            foreach (var (candidate, spot) in attempts)
            {
                attempt++;
                string what = candidate + (spot ? " (spot)" : plan.Request.Spot ? " (on demand)" : "");
                var request = new RunInstancesRequest
                {
                    ImageId = plan.ImageId,
                    InstanceType = candidate.InstanceType,
                    MinCount = 1,
                    MaxCount = 1,
                    KeyName = keyName,
                    SubnetId = candidate.SubnetId,
                    SecurityGroupIds = new List<string> { groupId },
                    UserData = Convert.ToBase64String(Encoding.UTF8.GetBytes(userData)),
                    // The self-destruct is a shutdown: make it end the bill, not just stop the machine.
                    InstanceInitiatedShutdownBehavior = ShutdownBehavior.Terminate,
                    MetadataOptions = new InstanceMetadataOptionsRequest
                    {
                        HttpTokens = HttpTokensState.Required,
                        HttpPutResponseHopLimit = 1,
                        HttpEndpoint = InstanceMetadataEndpointState.Enabled,
                    },
                    BlockDeviceMappings = new List<BlockDeviceMapping>
                    {
                        new BlockDeviceMapping
                        {
                            DeviceName = plan.RootDeviceName,
                            Ebs = new EbsBlockDevice { VolumeSize = plan.Request.RootVolumeSize, VolumeType = VolumeType.Gp3, Encrypted = true, DeleteOnTermination = true },
                        },
                    },
                    TagSpecifications = new List<TagSpecification>
                    {
                        new TagSpecification { ResourceType = ResourceType.Instance, Tags = tags },
                        new TagSpecification { ResourceType = ResourceType.Volume, Tags = tags },
                    },
                    // One token per candidate: a retried request never launches twice.
                    ClientToken = runId + "-" + attempt,
                };
                if (spot)
                {
                    request.InstanceMarketOptions = new InstanceMarketOptionsRequest
                    {
                        MarketType = MarketType.Spot,
                        SpotOptions = new SpotMarketOptions
                        {
                            SpotInstanceType = SpotInstanceType.OneTime,
                            InstanceInterruptionBehavior = InstanceInterruptionBehavior.Terminate,
                            MaxPrice = plan.Request.SpotMaxPrice?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        },
                    };
                    request.TagSpecifications.Add(new TagSpecification { ResourceType = ResourceType.SpotInstancesRequest, Tags = tags });
                }
                reporter.Progress(activity, $"Launching {what}");
                try
                {
                    made.UnansweredLaunch = request.ClientToken;
                    var response = await Poll.RetryAsync(_ => aws.Launch.RunInstancesAsync(request, ct),
                        ex => ex is AmazonEC2Exception e && e.ErrorCode == "RequestLimitExceeded", Backoff.Doubling(TimeSpan.FromMilliseconds(250)), 7, ct).ConfigureAwait(false);
                    var instance = response.Reservation.Instances[0];
                    made.InstanceId = instance.InstanceId;
                    made.UnansweredLaunch = null;
                    if (tried.Count > 0) reporter.Warning($"Launched {what} after: {string.Join("; ", tried)}.");
                    reporter.Verbose($"Launched {instance.InstanceId} ({what}).");
                    return instance;
                }
                catch (AmazonEC2Exception ex) when (CapacityErrors.Contains(ex.ErrorCode) || (spot && SpotErrors.Contains(ex.ErrorCode)))
                {
                    made.UnansweredLaunch = null; // answered: nothing was launched for it
                    tried.Add($"{what}: {ex.ErrorCode}");
                    reporter.Verbose($"{what}: {ex.ErrorCode} ({ex.Message}); trying the next zone or type.");
                }
                catch (AmazonEC2Exception ex) when ((int)ex.StatusCode >= 400 && (int)ex.StatusCode < 500)
                {
                    made.UnansweredLaunch = null; // refused: nothing was launched for it
                    throw;
                }
            }
            throw new OpenBsdBuildException("NoCapacity", FailureKind.ResourceUnavailable,
                "No capacity for the requested instance types. Tried: " + string.Join("; ", tried) + ".", string.Join(",", plan.Candidates.Select(c => c.InstanceType).Distinct()),
                "Retry later, pass more types to -InstanceType (the first with capacity is used), try another -Region" +
                (plan.Request.Spot && !plan.Request.SpotFallbackToOnDemand ? ", or add -SpotFallbackToOnDemand (or raise -SpotMaxPrice)." : "."));
        }

        private static Task<IReadOnlyList<string>> ReadFingerprintsAsync(IAmazonEC2 ec2, string id, LaunchRequest request, string activity, IOperationReporter reporter, CancellationToken ct)
        {
            // Latest: without it EC2 returns only the output buffered around the last state change,
            // which can lag the user data's fingerprint lines by minutes (docs/host-notes.md).
            bool latest = true;
            string text = "";
            return Poll.UntilAsync<IReadOnlyList<string>>(async attempt =>
                {
                    GetConsoleOutputResponse r;
                    try
                    {
                        r = await ec2.GetConsoleOutputAsync(new GetConsoleOutputRequest { InstanceId = id, Latest = latest }, ct).ConfigureAwait(false);
                    }
                    catch (AmazonEC2Exception ex) when (latest && ex.StatusCode == System.Net.HttpStatusCode.BadRequest)
                    {
                        // Latest is for Nitro instance types only, and EC2-compatible endpoints may not know it:
                        // the buffered output still carries the lines, later (docs/host-notes.md).
                        latest = false;
                        reporter.Verbose($"GetConsoleOutput refused Latest=true for {id} ({ex.ErrorCode}: {ex.Message}); reading the buffered console output instead, which can lag the host's boot by minutes.");
                        r = await ec2.GetConsoleOutputAsync(new GetConsoleOutputRequest { InstanceId = id }, ct).ConfigureAwait(false);
                    }
                    text = "";
                    if (!string.IsNullOrEmpty(r.Output))
                    {
                        try { text = Encoding.UTF8.GetString(Convert.FromBase64String(r.Output)); }
                        catch (FormatException) { text = r.Output; }
                    }
                    var found = ConsoleFingerprints.Parse(text);
                    if (found.Count > 0)
                    {
                        reporter.Verbose($"Host key fingerprints of {id} from its console: {string.Join(", ", found)}.");
                        return found;
                    }
                    reporter.Progress(activity, $"{id}: reading SSH host key fingerprints from the console{(text.Length == 0 ? " (empty so far)" : "")}, {attempt.Elapsed.TotalSeconds:0} s");
                    return null;
                },
                Backoff.Every(TimeSpan.FromSeconds(2)), request.ConsoleTimeout,
                _ => new OpenBsdBuildException("HostKeyUnknown", FailureKind.OperationTimeout,
                    $"{id} printed no SSH host key fingerprints to its console within {request.ConsoleTimeout.TotalSeconds:0} s" +
                    (text.Length == 0 ? " (the console is still empty)." : "."), id,
                    "Console output lags boot on metal; raise -ConsoleTimeout, or pass -TrustHostKey to skip the check explicitly."),
                ct);
        }

        /// <summary>The shortest connect attempt: less cannot finish even a loopback SSH handshake.</summary>
        private static readonly TimeSpan MinConnectAttempt = TimeSpan.FromMilliseconds(500);

        private static Task<SshShell> ConnectAsync(SshTarget target, string id, TimeSpan timeout, string activity, IOperationReporter reporter, CancellationToken ct)
        {
            TimeSpan perAttempt = target.ConnectTimeout;
            OpenBsdBuildException? lastFailure = null;
            return Poll.UntilAsync(async attempt =>
                {
                    // -SshTimeout bounds every attempt too, not just when the next one may start.
                    TimeSpan left = timeout - attempt.Elapsed;
                    target.ConnectTimeout = left < perAttempt ? (left > MinConnectAttempt ? left : MinConnectAttempt) : perAttempt;
                    try
                    {
                        return await SshShell.ConnectAsync(target, ct).ConfigureAwait(false);
                    }
                    catch (OpenBsdBuildException ex) when (ex.ErrorId == "HostKeyMismatch")
                    {
                        throw new OpenBsdBuildException("HostKeyMismatch", FailureKind.SecurityError,
                            $"{id} ({target.Host}) presented an SSH host key that its console did not print: {ex.Message}", id,
                            "Someone may be in the middle; the host was removed. Launch again; use -TrustHostKey only if you accept that risk.", ex);
                    }
                    catch (OpenBsdBuildException ex)
                    {
                        // sshd starts (and cloud-init installs the key) a little after the console shows the keys.
                        lastFailure = ex;
                        reporter.Progress(activity, $"{id}: waiting for SSH on {target.Host} ({ex.ErrorId}), {attempt.Elapsed.TotalSeconds:0} s");
                        return null;
                    }
                },
                Backoff.Pause(TimeSpan.FromSeconds(2)), timeout,
                _ => new OpenBsdBuildException("SshTimeout", FailureKind.OperationTimeout,
                    $"Could not reach {id} over SSH at {target} within {timeout.TotalSeconds:0} s: {lastFailure?.Message}", id,
                    "Check that -AllowedCidr includes this machine's address, or raise -SshTimeout.", lastFailure),
                ct);
        }

        private static async Task<bool> FollowBootstrapAsync(SshShell shell, string id, TimeSpan timeout, IOperationReporter reporter, CancellationToken ct)
        {
            string command = "cat \"" + UserDataScript.StateDirectoryExpression + "/status\" 2>/dev/null; true";
            BootstrapStatus? last = null;
            using var polling = OperationTrace.Polling();
            await Poll.UntilTrueAsync(async attempt =>
                {
                    var result = await shell.RunAsync(command, ct).ConfigureAwait(false);
                    var status = BootstrapStatus.Parse(result.Stdout);
                    if (status == null)
                    {
                        reporter.Progress(Activity, $"{id}: waiting for the bootstrap to start, {attempt.Elapsed.TotalSeconds:0} s");
                        return false;
                    }
                    last = status;
                    reporter.Progress(Activity, $"{id}: {status.Phase}: {status.Message}", status.Percent);
                    if (status.Phase == "failed")
                        throw new OpenBsdBuildException("BootstrapFailed", FailureKind.InvalidResult,
                            $"{id} could not prepare itself: {status.Message}", id,
                            "See /var/log/cloud-init-output.log on the host (Get-EC2ConsoleOutput); for a golden image, check -Image and its checksum.");
                    return status.Phase == "ready";
                },
                Backoff.Pause(TimeSpan.FromSeconds(1)), timeout,
                _ => new OpenBsdBuildException("BootstrapTimeout", FailureKind.OperationTimeout,
                    $"{id} was not ready after {timeout.TotalSeconds:0} s (last: {(last == null ? "no status yet" : last.Phase + " " + last.Percent + "%")}).", id,
                    "A large golden image takes a while; raise -BootstrapTimeout."),
                ct).ConfigureAwait(false);
            return true;
        }

        private static async Task CleanUpAsync(Ec2Connection aws, Made made, IOperationReporter reporter)
        {
            // Never cancelled: the user's Ctrl+C is what brought us here, and metal is billed while it lives.
            var none = CancellationToken.None;
            made.Shell?.Dispose();
            if (made.InstanceId == null && made.UnansweredLaunch != null)
                made.InstanceId = await Ec2Teardown.FindLaunchedAsync(aws.Ec2, made.UnansweredLaunch, reporter).ConfigureAwait(false);
            await Ec2Teardown.DeleteAllAsync(aws, made.InstanceId, made.KeyName, made.SecurityGroupId, Ec2Teardown.CleanupBound, reporter, none).ConfigureAwait(false);
            made.Key?.Dispose();
        }
    }
}
