using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Amazon.SimpleSystemsManagement;
using Amazon.SimpleSystemsManagement.Model;
using Xunit;
using OpenBsdBuild.Emulation;
using Filter = Amazon.EC2.Model.Filter;
using Tag = Amazon.EC2.Model.Tag;
using ResourceType = Amazon.EC2.ResourceType;

namespace OpenBsdBuild.Tests.Cloud;

/// <summary>
/// Drives the EC2/SSM emulator with the real AWS SDK clients over HTTP, so what passes here is
/// what the SDK really sends and really unmarshals. One emulator per test keeps them independent.
/// </summary>
public sealed class Ec2EmulatorTests : IAsyncLifetime
{
    private const string Region = "us-east-1";
    private static readonly BasicAWSCredentials Credentials = new("AKIDEXAMPLE", "secret");

    private Ec2Emulator _emulator = null!;

    public async Task InitializeAsync() => _emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions());

    public async Task DisposeAsync()
    {
        var bugs = _emulator.UnhandledExceptions;
        await _emulator.DisposeAsync();
        Assert.Empty(bugs);
    }

    private AmazonEC2Client Ec2(string region = Region, int? maxErrorRetry = null)
    {
        var config = new AmazonEC2Config { ServiceURL = _emulator.Endpoint.ToString(), AuthenticationRegion = region };
        if (maxErrorRetry is { } retries) config.MaxErrorRetry = retries;
        return new AmazonEC2Client(Credentials, config);
    }

    private AmazonSimpleSystemsManagementClient Ssm(string region = Region) =>
        new(Credentials, new AmazonSimpleSystemsManagementConfig { ServiceURL = _emulator.SsmEndpoint.ToString(), AuthenticationRegion = region });

    private string ImageId(string arch = "arm64", string region = Region) =>
        _emulator.GetSsmParameter($"/aws/service/canonical/ubuntu/server/24.04/stable/current/{arch}/hvm/ebs-gp3/ami-id", region)!;

    private async Task<Instance> LaunchAsync(AmazonEC2Client ec2, Action<RunInstancesRequest>? configure = null)
    {
        var request = new RunInstancesRequest { ImageId = ImageId(), InstanceType = "c7g.metal", MinCount = 1, MaxCount = 1 };
        configure?.Invoke(request);
        var response = await ec2.RunInstancesAsync(request);
        return Assert.Single(response.Reservation.Instances);
    }

    private static async Task<Instance> DescribeAsync(AmazonEC2Client ec2, string instanceId)
    {
        var response = await ec2.DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = [instanceId] });
        return Assert.Single(Assert.Single(response.Reservations).Instances);
    }

    private static async Task<Instance> WaitForStateAsync(AmazonEC2Client ec2, string instanceId, InstanceStateName state)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var instance = await DescribeAsync(ec2, instanceId);
            if (instance.State.Name == state) return instance;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{instanceId} never reached {state}");
    }

    private static async Task<AmazonEC2Exception> Ec2ErrorAsync(Func<Task> call)
    {
        return await Assert.ThrowsAnyAsync<AmazonEC2Exception>(call);
    }

    // ---- SDK plumbing --------------------------------------------------------------------------

    [Fact]
    public async Task Sdk_signs_with_SigV4_and_the_emulator_records_key_and_region()
    {
        using var ec2 = Ec2();
        var zones = await ec2.DescribeAvailabilityZonesAsync(new DescribeAvailabilityZonesRequest());

        Assert.Equal(["us-east-1a", "us-east-1b", "us-east-1c"], zones.AvailabilityZones.Select(z => z.ZoneName));
        Assert.All(zones.AvailabilityZones, z => Assert.Equal("available", z.State.Value));
        Assert.Equal(["AKIDEXAMPLE"], _emulator.SeenAccessKeyIds);
        Assert.Equal([Region], _emulator.SeenRegions);

        var request = Assert.Single(_emulator.Requests);
        Assert.Equal("DescribeAvailabilityZones", request.Action);
        Assert.Equal("2016-11-15", request.Parameters["Version"]);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", request.Headers["Authorization"]);
        Assert.Contains("/us-east-1/ec2/aws4_request", request.Headers["Authorization"]);
        Assert.True(request.Headers.ContainsKey("X-Amz-Date"));
    }

    [Fact]
    public async Task Region_comes_from_the_credential_scope()
    {
        using var east = Ec2();
        using var west = Ec2("eu-west-1");
        var instance = await LaunchAsync(east);

        var zones = await west.DescribeAvailabilityZonesAsync(new DescribeAvailabilityZonesRequest());
        Assert.All(zones.AvailabilityZones, z => Assert.StartsWith("eu-west-1", z.ZoneName));

        var error = await Ec2ErrorAsync(() => DescribeAsync(west, instance.InstanceId));
        Assert.Equal("InvalidInstanceID.NotFound", error.ErrorCode);
        Assert.Contains("eu-west-1", _emulator.SeenRegions);
        Assert.Equal(Region, _emulator.Instances[instance.InstanceId].Region);
    }

    /// <summary>
    /// SDK v4 leaves collections null unless AWSConfigs.InitializeCollections is set — even when
    /// the response carries the list element empty. Module code must null-check every list.
    /// </summary>
    [Fact]
    public async Task Sdk_v4_gives_null_for_empty_lists()
    {
        using var ec2 = Ec2();
        var none = await ec2.DescribeInstancesAsync(new DescribeInstancesRequest());
        Assert.Null(none.Reservations);

        var instance = await LaunchAsync(ec2);
        Assert.Null(instance.Tags);
        Assert.Null(instance.ProductCodes);
    }

    [Fact]
    public async Task Unknown_action_is_InvalidAction_with_the_ec2_error_document()
    {
        using var http = new HttpClient();
        var response = await http.PostAsync(_emulator.Endpoint,
            new StringContent("Action=Frobnicate&Version=2016-11-15", Encoding.UTF8, "application/x-www-form-urlencoded"));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("<Response><Errors><Error><Code>InvalidAction</Code><Message>", body);
        Assert.Contains("<RequestID>", body);
    }

    // ---- instances -----------------------------------------------------------------------------

    [Fact]
    public async Task Instance_walks_pending_running_shutting_down_terminated_with_delays()
    {
        _emulator.PendingDelay = TimeSpan.FromMilliseconds(300);
        _emulator.ShuttingDownDelay = TimeSpan.FromMilliseconds(300);
        using var ec2 = Ec2();

        var launched = await LaunchAsync(ec2);
        Assert.Equal(InstanceStateName.Pending, launched.State.Name);
        Assert.Equal(0, launched.State.Code);
        Assert.Equal(InstanceStateName.Pending, (await DescribeAsync(ec2, launched.InstanceId)).State.Name);

        var running = await WaitForStateAsync(ec2, launched.InstanceId, InstanceStateName.Running);
        Assert.Equal(16, running.State.Code);
        Assert.Equal("c7g.metal", running.InstanceType.Value);
        Assert.Equal(ArchitectureValues.Arm64, running.Architecture);
        Assert.NotNull(running.PublicIpAddress);
        Assert.StartsWith("172.31.", running.PrivateIpAddress);
        Assert.Equal(_emulator.DefaultVpc().VpcId, running.VpcId);
        Assert.True(DateTime.UtcNow - running.LaunchTime.GetValueOrDefault().ToUniversalTime() < TimeSpan.FromMinutes(1));

        var terminate = await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = [launched.InstanceId] });
        var change = Assert.Single(terminate.TerminatingInstances);
        Assert.Equal(InstanceStateName.Running, change.PreviousState.Name);
        Assert.Equal(InstanceStateName.ShuttingDown, change.CurrentState.Name);
        Assert.Equal(32, change.CurrentState.Code);

        var terminated = await WaitForStateAsync(ec2, launched.InstanceId, InstanceStateName.Terminated);
        Assert.Equal(48, terminated.State.Code);
        Assert.Equal("Client.UserInitiatedShutdown", terminated.StateReason.Code);

        // Terminating again is fine and reports terminated → terminated.
        var again = Assert.Single((await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = [launched.InstanceId] })).TerminatingInstances);
        Assert.Equal(InstanceStateName.Terminated, again.PreviousState.Name);
        Assert.Equal(InstanceStateName.Terminated, again.CurrentState.Name);
    }

    [Fact]
    public async Task With_zero_delays_state_changes_on_the_next_describe()
    {
        using var ec2 = Ec2();
        var launched = await LaunchAsync(ec2);
        Assert.Equal(InstanceStateName.Pending, launched.State.Name);
        Assert.Equal(InstanceStateName.Running, (await DescribeAsync(ec2, launched.InstanceId)).State.Name);

        await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = [launched.InstanceId] });
        Assert.Equal(InstanceStateName.Terminated, (await DescribeAsync(ec2, launched.InstanceId)).State.Name);
    }

    [Fact]
    public async Task RunInstances_takes_every_parameter_the_module_sends()
    {
        using var ec2 = Ec2();
        var key = await ec2.ImportKeyPairAsync(new ImportKeyPairRequest
        {
            KeyName = "build-key",
            PublicKeyMaterial = Base64(NewRsaPublicKey()),
        });
        var group = await ec2.CreateSecurityGroupAsync(new CreateSecurityGroupRequest { GroupName = "build", Description = "build hosts" });
        var subnet = _emulator.DefaultSubnet("us-east-1b");
        var userData = "#!/bin/sh\necho hello from the emulator\n";

        var instance = await LaunchAsync(ec2, r =>
        {
            r.KeyName = key.KeyName;
            r.SecurityGroupIds = [group.GroupId];
            r.SubnetId = subnet.SubnetId;
            r.Placement = new Placement { AvailabilityZone = "us-east-1b" };
            r.UserData = Convert.ToBase64String(Encoding.UTF8.GetBytes(userData));
            r.InstanceInitiatedShutdownBehavior = ShutdownBehavior.Terminate;
            r.MetadataOptions = new InstanceMetadataOptionsRequest { HttpTokens = HttpTokensState.Required, HttpPutResponseHopLimit = 2 };
            r.BlockDeviceMappings =
            [
                new BlockDeviceMapping { DeviceName = "/dev/sda1", Ebs = new EbsBlockDevice { VolumeSize = 200, VolumeType = VolumeType.Gp3, Encrypted = true } },
            ];
            r.InstanceMarketOptions = new InstanceMarketOptionsRequest
            {
                MarketType = MarketType.Spot,
                SpotOptions = new SpotMarketOptions { MaxPrice = "5.00" },
            };
            r.TagSpecifications =
            [
                new TagSpecification { ResourceType = ResourceType.Instance, Tags = [new Tag("Name", "builder"), new Tag("openbsdbuild:run", "r1")] },
                new TagSpecification { ResourceType = ResourceType.Volume, Tags = [new Tag("openbsdbuild:run", "r1")] },
            ];
        });

        Assert.Equal("build-key", instance.KeyName);
        Assert.Equal(subnet.SubnetId, instance.SubnetId);
        Assert.Equal("us-east-1b", instance.Placement.AvailabilityZone);
        Assert.Equal(group.GroupId, Assert.Single(instance.SecurityGroups).GroupId);
        Assert.Equal("build", instance.SecurityGroups[0].GroupName);
        Assert.Equal(HttpTokensState.Required, instance.MetadataOptions.HttpTokens);
        Assert.Equal(2, instance.MetadataOptions.HttpPutResponseHopLimit);
        Assert.Equal(InstanceLifecycleType.Spot, instance.InstanceLifecycle);
        Assert.Equal("builder", instance.Tags.Single(t => t.Key == "Name").Value);

        var seen = _emulator.Instances[instance.InstanceId];
        Assert.Equal(userData, seen.UserData);
        Assert.Equal("terminate", seen.ShutdownBehavior);
        Assert.True(seen.IsSpot);
        Assert.Equal("5.00", seen.SpotMaxPrice);
        Assert.Equal("required", seen.HttpTokens);

        var volume = _emulator.Volumes[Assert.Single(seen.VolumeIds)];
        Assert.Equal(200, volume.SizeGiB);
        Assert.Equal("gp3", volume.VolumeType);
        Assert.True(volume.Encrypted);
        Assert.Equal("r1", volume.Tags["openbsdbuild:run"]);
        Assert.False(volume.Tags.ContainsKey("Name")); // instance tags are not copied to volumes, as on EC2
    }

    [Fact]
    public async Task ClientToken_makes_RunInstances_idempotent()
    {
        using var ec2 = Ec2();
        var first = await LaunchAsync(ec2, r => r.ClientToken = "token-1");
        var second = await LaunchAsync(ec2, r => r.ClientToken = "token-1");

        Assert.Equal(first.InstanceId, second.InstanceId);
        Assert.Single(_emulator.Instances);

        var error = await Ec2ErrorAsync(() => LaunchAsync(ec2, r => { r.ClientToken = "token-1"; r.InstanceType = "m7g.metal"; }));
        Assert.Equal("IdempotentParameterMismatch", error.ErrorCode);
    }

    [Fact]
    public async Task Describe_filters_by_id_state_and_tags()
    {
        using var ec2 = Ec2();
        var a = await LaunchAsync(ec2, r => r.TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Instance, Tags = [new Tag("role", "builder")] }]);
        var b = await LaunchAsync(ec2);
        await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = [b.InstanceId] });

        async Task<List<string>> Ids(params Filter[] filters) =>
            ((await ec2.DescribeInstancesAsync(new DescribeInstancesRequest { Filters = filters.ToList() })).Reservations ?? [])
            .SelectMany(r => r.Instances).Select(i => i.InstanceId).ToList();

        Assert.Equal([a.InstanceId], await Ids(new Filter("tag:role", ["builder"])));
        Assert.Equal([a.InstanceId], await Ids(new Filter("tag-key", ["role"])));
        Assert.Equal([a.InstanceId], await Ids(new Filter("instance-state-name", ["pending", "running"])));
        Assert.Equal([b.InstanceId], await Ids(new Filter("instance-state-name", ["terminated"])));
        Assert.Equal([b.InstanceId], await Ids(new Filter("instance-id", [b.InstanceId])));
        Assert.Empty(await Ids(new Filter("tag:role", ["nobody"])));

        var error = await Ec2ErrorAsync(() => Ids(new Filter("no-such-filter", ["x"])));
        Assert.Equal("InvalidParameterValue", error.ErrorCode);
    }

    [Fact]
    public async Task Create_and_delete_tags()
    {
        using var ec2 = Ec2();
        var instance = await LaunchAsync(ec2);
        await ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [instance.InstanceId], Tags = [new Tag("a", "1"), new Tag("b", "2")] });
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }, _emulator.Instances[instance.InstanceId].Tags);

        // A value that doesn't match leaves the tag; a bare key removes it.
        await ec2.DeleteTagsAsync(new DeleteTagsRequest { Resources = [instance.InstanceId], Tags = [new Tag("a", "other"), new Tag { Key = "b" }] });
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1" }, _emulator.Instances[instance.InstanceId].Tags);

        var error = await Ec2ErrorAsync(() => ec2.CreateTagsAsync(new CreateTagsRequest { Resources = ["i-0123456789abcdef0"], Tags = [new Tag("a", "1")] }));
        Assert.Equal("InvalidInstanceID.NotFound", error.ErrorCode);
    }

    // ---- security groups -----------------------------------------------------------------------

    [Fact]
    public async Task Security_group_cannot_be_deleted_while_an_instance_uses_it()
    {
        _emulator.ShuttingDownDelay = TimeSpan.FromMilliseconds(300);
        using var ec2 = Ec2();
        var group = await ec2.CreateSecurityGroupAsync(new CreateSecurityGroupRequest
        {
            GroupName = "ssh-in",
            Description = "ssh from the builder",
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.SecurityGroup, Tags = [new Tag("openbsdbuild", "yes")] }],
        });
        var ingress = await ec2.AuthorizeSecurityGroupIngressAsync(new AuthorizeSecurityGroupIngressRequest
        {
            GroupId = group.GroupId,
            IpPermissions = [new IpPermission { IpProtocol = "tcp", FromPort = 22, ToPort = 22, Ipv4Ranges = [new IpRange { CidrIp = "198.51.100.7/32", Description = "me" }] }],
        });
        Assert.True(ingress.Return);
        Assert.Equal("198.51.100.7/32", Assert.Single(ingress.SecurityGroupRules).CidrIpv4);

        var instance = await LaunchAsync(ec2, r => r.SecurityGroupIds = [group.GroupId]);
        var busy = await Ec2ErrorAsync(() => ec2.DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { GroupId = group.GroupId }));
        Assert.Equal("DependencyViolation", busy.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, busy.StatusCode);

        await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = [instance.InstanceId] });
        var stillShuttingDown = await Ec2ErrorAsync(() => ec2.DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { GroupId = group.GroupId }));
        Assert.Equal("DependencyViolation", stillShuttingDown.ErrorCode);

        await WaitForStateAsync(ec2, instance.InstanceId, InstanceStateName.Terminated);
        await ec2.DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { GroupId = group.GroupId });
        var gone = await Ec2ErrorAsync(() => ec2.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { GroupIds = [group.GroupId] }));
        Assert.Equal("InvalidGroup.NotFound", gone.ErrorCode);
    }

    [Fact]
    public async Task Security_groups_describe_by_id_and_tag_and_reject_duplicates()
    {
        using var ec2 = Ec2();
        var group = await ec2.CreateSecurityGroupAsync(new CreateSecurityGroupRequest
        {
            GroupName = "tagged",
            Description = "d",
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.SecurityGroup, Tags = [new Tag("run", "r2")] }],
        });
        await ec2.AuthorizeSecurityGroupIngressAsync(new AuthorizeSecurityGroupIngressRequest
        {
            GroupId = group.GroupId,
            IpPermissions = [new IpPermission { IpProtocol = "tcp", FromPort = 22, ToPort = 22, Ipv4Ranges = [new IpRange { CidrIp = "0.0.0.0/0" }] }],
        });

        var byTag = await ec2.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { Filters = [new Filter("tag:run", ["r2"])] });
        var described = Assert.Single(byTag.SecurityGroups);
        Assert.Equal(group.GroupId, described.GroupId);
        Assert.Equal(_emulator.DefaultVpc().VpcId, described.VpcId);
        var permission = Assert.Single(described.IpPermissions);
        Assert.Equal(22, permission.FromPort);
        Assert.Equal("0.0.0.0/0", Assert.Single(permission.Ipv4Ranges).CidrIp);
        Assert.Equal("-1", Assert.Single(described.IpPermissionsEgress).IpProtocol);

        var byId = await ec2.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { GroupIds = [group.GroupId] });
        Assert.Equal("tagged", Assert.Single(byId.SecurityGroups).GroupName);

        var byKey = await ec2.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { Filters = [new Filter("tag-key", ["run"]), new Filter("group-id", [group.GroupId])] });
        Assert.Single(byKey.SecurityGroups);

        var duplicate = await Ec2ErrorAsync(() => ec2.CreateSecurityGroupAsync(new CreateSecurityGroupRequest { GroupName = "tagged", Description = "d" }));
        Assert.Equal("InvalidGroup.Duplicate", duplicate.ErrorCode);

        var duplicateRule = await Ec2ErrorAsync(() => ec2.AuthorizeSecurityGroupIngressAsync(new AuthorizeSecurityGroupIngressRequest
        {
            GroupId = group.GroupId,
            IpPermissions = [new IpPermission { IpProtocol = "tcp", FromPort = 22, ToPort = 22, Ipv4Ranges = [new IpRange { CidrIp = "0.0.0.0/0" }] }],
        }));
        Assert.Equal("InvalidPermission.Duplicate", duplicateRule.ErrorCode);

        var missing = await Ec2ErrorAsync(() => ec2.DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { GroupId = "sg-0123456789abcdef0" }));
        Assert.Equal("InvalidGroup.NotFound", missing.ErrorCode);
    }

    // ---- key pairs -----------------------------------------------------------------------------

    [Fact]
    public async Task Key_pairs_import_describe_and_delete()
    {
        using var ec2 = Ec2();
        var rsa = NewRsaPublicKey();
        var imported = await ec2.ImportKeyPairAsync(new ImportKeyPairRequest
        {
            KeyName = "rsa-key",
            PublicKeyMaterial = Base64(rsa),
            TagSpecifications = [new TagSpecification { ResourceType = ResourceType.KeyPair, Tags = [new Tag("run", "r3")] }],
        });
        Assert.Equal("rsa-key", imported.KeyName);
        Assert.StartsWith("key-", imported.KeyPairId);
        Assert.Equal(RsaFingerprint(rsa), imported.KeyFingerprint);

        var (ed25519, ed25519Fingerprint) = NewEd25519PublicKey();
        var edImported = await ec2.ImportKeyPairAsync(new ImportKeyPairRequest { KeyName = "ed-key", PublicKeyMaterial = Base64(ed25519) });
        Assert.Equal(ed25519Fingerprint, edImported.KeyFingerprint);

        var byName = Assert.Single((await ec2.DescribeKeyPairsAsync(new DescribeKeyPairsRequest { KeyNames = ["rsa-key"] })).KeyPairs);
        Assert.Equal(imported.KeyPairId, byName.KeyPairId);
        Assert.Equal(KeyType.Rsa, byName.KeyType);
        Assert.Equal("r3", Assert.Single(byName.Tags).Value);
        var byTag = Assert.Single((await ec2.DescribeKeyPairsAsync(new DescribeKeyPairsRequest { Filters = [new Filter("tag:run", ["r3"])] })).KeyPairs);
        Assert.Equal("rsa-key", byTag.KeyName);

        var duplicate = await Ec2ErrorAsync(() => ec2.ImportKeyPairAsync(new ImportKeyPairRequest { KeyName = "rsa-key", PublicKeyMaterial = Base64(rsa) }));
        Assert.Equal("InvalidKeyPair.Duplicate", duplicate.ErrorCode);
        var garbage = await Ec2ErrorAsync(() => ec2.ImportKeyPairAsync(new ImportKeyPairRequest { KeyName = "bad", PublicKeyMaterial = Base64("not a key") }));
        Assert.Equal("InvalidKey.Format", garbage.ErrorCode);
        var unencoded = await Ec2ErrorAsync(() => ec2.ImportKeyPairAsync(new ImportKeyPairRequest { KeyName = "raw", PublicKeyMaterial = rsa }));
        Assert.Equal("InvalidKey.Format", unencoded.ErrorCode);

        await ec2.DeleteKeyPairAsync(new DeleteKeyPairRequest { KeyName = "rsa-key" });
        await ec2.DeleteKeyPairAsync(new DeleteKeyPairRequest { KeyName = "rsa-key" }); // idempotent
        var gone = await Ec2ErrorAsync(() => ec2.DescribeKeyPairsAsync(new DescribeKeyPairsRequest { KeyNames = ["rsa-key"] }));
        Assert.Equal("InvalidKeyPair.NotFound", gone.ErrorCode);
        Assert.Equal(["ed-key"], _emulator.KeyPairs.Values.Select(k => k.KeyName));
    }

    // ---- volumes -------------------------------------------------------------------------------

    [Fact]
    public async Task Volumes_carry_their_tag_specification_and_follow_the_instance()
    {
        using var ec2 = Ec2();
        var instance = await LaunchAsync(ec2, r =>
        {
            r.BlockDeviceMappings = [new BlockDeviceMapping { DeviceName = "/dev/sdf", Ebs = new EbsBlockDevice { VolumeSize = 50, DeleteOnTermination = false } }];
            r.TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Volume, Tags = [new Tag("run", "r4")] }];
        });

        var attached = (await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = [new Filter("attachment.instance-id", [instance.InstanceId])] })).Volumes;
        Assert.Equal(2, attached.Count);
        Assert.All(attached, v => Assert.Equal("r4", v.Tags.Single(t => t.Key == "run").Value));
        Assert.All(attached, v => Assert.Equal(VolumeState.InUse, v.State));
        var root = attached.Single(v => v.Attachments[0].Device == "/dev/sda1");
        Assert.Equal(8, root.Size);
        Assert.True(root.Attachments[0].DeleteOnTermination);
        var byTag = (await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = [new Filter("tag:run", ["r4"])] })).Volumes;
        Assert.Equal(2, byTag.Count);

        await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = [instance.InstanceId] });
        await WaitForStateAsync(ec2, instance.InstanceId, InstanceStateName.Terminated);
        var left = Assert.Single((await ec2.DescribeVolumesAsync(new DescribeVolumesRequest { Filters = [new Filter("tag:run", ["r4"])] })).Volumes);
        Assert.Equal(50, left.Size);
        Assert.Equal(VolumeState.Available, left.State);
        Assert.Equal("deleted", _emulator.Volumes[root.VolumeId].State);
    }

    // ---- console output ------------------------------------------------------------------------

    [Fact]
    public async Task Console_output_is_empty_until_due_then_comes_from_the_provider()
    {
        _emulator.ConsoleOutputDelay = TimeSpan.FromMilliseconds(300);
        _emulator.ConsoleOutputProvider = i => $"OpenBSD boot on {i.InstanceId}\nlogin:";
        using var ec2 = Ec2();
        var instance = await LaunchAsync(ec2);

        var early = await ec2.GetConsoleOutputAsync(new GetConsoleOutputRequest { InstanceId = instance.InstanceId });
        Assert.Equal(instance.InstanceId, early.InstanceId);
        Assert.True(string.IsNullOrEmpty(early.Output));
        Assert.NotNull(early.Timestamp);

        string? text = null;
        for (var attempt = 0; attempt < 60 && text is null; attempt++)
        {
            await Task.Delay(50);
            var output = (await ec2.GetConsoleOutputAsync(new GetConsoleOutputRequest { InstanceId = instance.InstanceId })).Output;
            if (!string.IsNullOrEmpty(output)) text = Encoding.UTF8.GetString(Convert.FromBase64String(output));
        }
        Assert.Equal($"OpenBSD boot on {instance.InstanceId}\nlogin:", text);
    }

    // ---- faults --------------------------------------------------------------------------------

    [Fact]
    public async Task RequestLimitExceeded_burst_is_absorbed_by_sdk_retries()
    {
        using var ec2 = Ec2();
        _emulator.FailNext("DescribeInstances", "RequestLimitExceeded", count: 2);

        await ec2.DescribeInstancesAsync(new DescribeInstancesRequest());

        Assert.Equal(3, _emulator.CountOf("DescribeInstances"));
        Assert.Equal([503, 503, 200], _emulator.Requests.Select(r => r.StatusCode));
        Assert.Equal(0, _emulator.PendingFailures);
    }

    [Fact]
    public async Task RequestLimitExceeded_beyond_retries_surfaces_as_503()
    {
        using var ec2 = Ec2(maxErrorRetry: 0);
        _emulator.FailNext("RunInstances", "RequestLimitExceeded", count: 1);

        var error = await Ec2ErrorAsync(() => LaunchAsync(ec2));
        Assert.Equal("RequestLimitExceeded", error.ErrorCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Equal(ErrorType.Unknown, error.ErrorType);
        Assert.Empty(_emulator.Instances);
        Assert.NotNull(error.RequestId);
    }

    [Fact]
    public async Task InsufficientCapacity_in_one_zone_fails_there_and_launches_elsewhere()
    {
        using var ec2 = Ec2(maxErrorRetry: 0);
        _emulator.InsufficientCapacity("c7g.metal", "us-east-1a");

        var error = await Ec2ErrorAsync(() => LaunchAsync(ec2, r => r.Placement = new Placement { AvailabilityZone = "us-east-1a" }));
        Assert.Equal("InsufficientInstanceCapacity", error.ErrorCode);
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Contains("us-east-1b", error.Message);

        var elsewhere = await LaunchAsync(ec2);
        Assert.Equal("us-east-1b", elsewhere.Placement.AvailabilityZone);

        _emulator.InsufficientCapacity("c7g.metal", "us-east-1a", insufficient: false);
        Assert.Equal("us-east-1a", (await LaunchAsync(ec2, r => r.Placement = new Placement { AvailabilityZone = "us-east-1a" })).Placement.AvailabilityZone);
    }

    [Fact]
    public async Task Scripted_capacity_error_is_retried_by_the_default_sdk_client()
    {
        using var ec2 = Ec2();
        _emulator.FailNext("RunInstances", "InsufficientInstanceCapacity", count: 1);
        await LaunchAsync(ec2);
        Assert.Equal(2, _emulator.CountOf("RunInstances"));
    }

    [Fact]
    public async Task StuckPending_holds_instances_until_released()
    {
        using var ec2 = Ec2();
        _emulator.StuckPending(true);
        var instance = await LaunchAsync(ec2);
        for (var i = 0; i < 3; i++)
            Assert.Equal(InstanceStateName.Pending, (await DescribeAsync(ec2, instance.InstanceId)).State.Name);

        _emulator.StuckPending(false);
        Assert.Equal(InstanceStateName.Running, (await DescribeAsync(ec2, instance.InstanceId)).State.Name);
    }

    [Fact]
    public async Task TerminateUnderneath_looks_like_a_spot_interruption()
    {
        using var ec2 = Ec2();
        var instance = await LaunchAsync(ec2, r => r.InstanceMarketOptions = new InstanceMarketOptionsRequest { MarketType = MarketType.Spot });
        await WaitForStateAsync(ec2, instance.InstanceId, InstanceStateName.Running);

        _emulator.TerminateUnderneath(instance.InstanceId);
        var gone = await DescribeAsync(ec2, instance.InstanceId);
        Assert.Equal(InstanceStateName.Terminated, gone.State.Name);
        Assert.Equal("Server.SpotInstanceTermination", gone.StateReason.Code);
        Assert.True(_emulator.Instances[instance.InstanceId].TerminatedUnderneath);
    }

    [Fact]
    public async Task Guest_shutdown_with_terminate_behavior_terminates_and_is_flagged()
    {
        using var ec2 = Ec2();
        var instance = await LaunchAsync(ec2, r => r.InstanceInitiatedShutdownBehavior = ShutdownBehavior.Terminate);
        await WaitForStateAsync(ec2, instance.InstanceId, InstanceStateName.Running);

        _emulator.ShutdownFromInstance(instance.InstanceId);
        var gone = await DescribeAsync(ec2, instance.InstanceId);
        Assert.Equal(InstanceStateName.Terminated, gone.State.Name);
        Assert.Equal("Client.InstanceInitiatedShutdown", gone.StateReason.Code);
        Assert.True(_emulator.Instances[instance.InstanceId].TerminatedByInstanceShutdown);
    }

    [Fact]
    public async Task AddressProvider_points_instances_at_test_addresses()
    {
        _emulator.AddressProvider = i => ("10.200.0.2", "10.200.0.3");
        using var ec2 = Ec2();
        var instance = await LaunchAsync(ec2);
        Assert.Equal("10.200.0.3", instance.PrivateIpAddress);
        var running = await WaitForStateAsync(ec2, instance.InstanceId, InstanceStateName.Running);
        Assert.Equal("10.200.0.2", running.PublicIpAddress);
        Assert.Equal("10.200.0.2", _emulator.Instances[instance.InstanceId].PublicIpAddress);
    }

    [Fact]
    public async Task Default_public_addresses_are_loopback()
    {
        using var ec2 = Ec2();
        var instance = await LaunchAsync(ec2);
        Assert.StartsWith("127.77.", instance.PublicIpAddress);
    }

    [Fact]
    public async Task Spot_price_below_market_is_SpotMaxPriceTooLow()
    {
        _emulator.SetSpotPrice("c7g.metal", "us-east-1a", 1.5m);
        using var ec2 = Ec2();
        var history = await ec2.DescribeSpotPriceHistoryAsync(new DescribeSpotPriceHistoryRequest
        {
            InstanceTypes = ["c7g.metal"],
            AvailabilityZone = "us-east-1a",
        });
        Assert.Equal("1.500000", Assert.Single(history.SpotPriceHistory).Price);

        var error = await Ec2ErrorAsync(() => LaunchAsync(ec2, r =>
        {
            r.Placement = new Placement { AvailabilityZone = "us-east-1a" };
            r.InstanceMarketOptions = new InstanceMarketOptionsRequest { MarketType = MarketType.Spot, SpotOptions = new SpotMarketOptions { MaxPrice = "0.10" } };
        }));
        Assert.Equal("SpotMaxPriceTooLow", error.ErrorCode);
    }

    // ---- error codes ---------------------------------------------------------------------------

    [Fact]
    public async Task Invalid_ids_and_parameters_give_ec2s_error_codes()
    {
        using var ec2 = Ec2(maxErrorRetry: 0);
        async Task<string> Code(Func<Task> call) => (await Ec2ErrorAsync(call)).ErrorCode;

        Assert.Equal("InvalidInstanceID.NotFound", await Code(() => DescribeAsync(ec2, "i-0123456789abcdef0")));
        Assert.Equal("InvalidInstanceID.Malformed", await Code(() => DescribeAsync(ec2, "not-an-id")));
        Assert.Equal("InvalidInstanceID.NotFound", await Code(() => ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = ["i-0123456789abcdef0"] })));
        Assert.Equal("InvalidKeyPair.NotFound", await Code(() => LaunchAsync(ec2, r => r.KeyName = "nope")));
        Assert.Equal("InvalidGroup.NotFound", await Code(() => LaunchAsync(ec2, r => r.SecurityGroupIds = ["sg-0123456789abcdef0"])));
        Assert.Equal("InvalidSubnetID.NotFound", await Code(() => LaunchAsync(ec2, r => r.SubnetId = "subnet-0123456789abcdef0")));
        Assert.Equal("InvalidAMIID.NotFound", await Code(() => LaunchAsync(ec2, r => r.ImageId = "ami-0123456789abcdef0")));
        Assert.Equal("InvalidParameterValue", await Code(() => LaunchAsync(ec2, r => r.InstanceType = "c99.metal")));
        Assert.Equal("InvalidParameterValue", await Code(() => LaunchAsync(ec2, r => r.ImageId = ImageId("amd64"))));
        Assert.Equal("Unsupported", await Code(() => LaunchAsync(ec2, r => { r.InstanceType = "c8g.metal-24xl"; r.Placement = new Placement { AvailabilityZone = "us-east-1c" }; })));
        Assert.Equal("InvalidParameterValue", await Code(() => LaunchAsync(ec2, r => r.UserData = "%%% not base64")));

        // A group from the default VPC with a subnet from the other VPC.
        var group = await ec2.CreateSecurityGroupAsync(new CreateSecurityGroupRequest { GroupName = "g", Description = "d" });
        Assert.Equal("InvalidParameter", await Code(() => LaunchAsync(ec2, r => { r.SubnetId = _emulator.OtherVpcSubnet().SubnetId; r.SecurityGroupIds = [group.GroupId]; })));

        Assert.Equal("InvalidSubnetID.NotFound", await Code(() => ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = ["subnet-0123456789abcdef0"] })));
        Assert.Equal("InvalidAMIID.NotFound", await Code(() => ec2.DescribeImagesAsync(new DescribeImagesRequest { ImageIds = ["ami-0123456789abcdef0"] })));
        Assert.Equal("InvalidInstanceType", await Code(() => ec2.DescribeInstanceTypesAsync(new DescribeInstanceTypesRequest { InstanceTypes = ["c99.metal"] })));
        Assert.Empty(_emulator.Instances);
    }

    [Fact]
    public async Task Launch_into_the_other_vpc_uses_its_default_group_and_no_public_ip()
    {
        using var ec2 = Ec2();
        var subnet = _emulator.OtherVpcSubnet();
        var instance = await LaunchAsync(ec2, r => r.SubnetId = subnet.SubnetId);
        Assert.Equal(subnet.VpcId, instance.VpcId);
        Assert.Null(instance.PublicIpAddress);
        Assert.Equal("default", Assert.Single(instance.SecurityGroups).GroupName);
        Assert.StartsWith("10.20.1.", instance.PrivateIpAddress);
    }

    [Fact]
    public async Task DryRun_answers_DryRunOperation()
    {
        using var ec2 = Ec2();
        var error = await Ec2ErrorAsync(() => LaunchAsync(ec2, r => r.DryRun = true));
        Assert.Equal("DryRunOperation", error.ErrorCode);
        Assert.Empty(_emulator.Instances);
    }

    // ---- catalog -------------------------------------------------------------------------------

    [Fact]
    public async Task Instance_types_describe_metal_cpu_memory_and_architecture()
    {
        using var ec2 = Ec2();
        string[] metal = ["a1.metal", "c6g.metal", "m6g.metal", "c7g.metal", "m7g.metal", "c8g.metal-24xl", "c5.metal", "m5.metal", "c6i.metal", "m6i.metal"];
        var types = (await ec2.DescribeInstanceTypesAsync(new DescribeInstanceTypesRequest { InstanceTypes = metal.ToList() })).InstanceTypes;

        Assert.Equal(metal.Order(), types.Select(t => t.InstanceType.Value).Order());
        Assert.All(types, t => Assert.True(t.BareMetal));
        var c7g = types.Single(t => t.InstanceType == "c7g.metal");
        Assert.Equal(64, c7g.VCpuInfo.DefaultVCpus);
        Assert.Equal(131072, c7g.MemoryInfo.SizeInMiB);
        Assert.Equal(["arm64"], c7g.ProcessorInfo.SupportedArchitectures);
        var m6i = types.Single(t => t.InstanceType == "m6i.metal");
        Assert.Equal(128, m6i.VCpuInfo.DefaultVCpus);
        Assert.Equal(["x86_64"], m6i.ProcessorInfo.SupportedArchitectures);

        var arm = (await ec2.DescribeInstanceTypesAsync(new DescribeInstanceTypesRequest
        {
            Filters = [new Filter("processor-info.supported-architecture", ["arm64"]), new Filter("bare-metal", ["true"])],
        })).InstanceTypes;
        Assert.Equal(6, arm.Count);
    }

    [Fact]
    public async Task Offerings_by_zone_and_region()
    {
        using var ec2 = Ec2();
        var byZone = await ec2.DescribeInstanceTypeOfferingsAsync(new DescribeInstanceTypeOfferingsRequest
        {
            LocationType = LocationType.AvailabilityZone,
            Filters = [new Filter("instance-type", ["c8g.metal-24xl"])],
        });
        Assert.Equal(["us-east-1a", "us-east-1b"], byZone.InstanceTypeOfferings.Select(o => o.Location));

        var inZone = await ec2.DescribeInstanceTypeOfferingsAsync(new DescribeInstanceTypeOfferingsRequest
        {
            LocationType = LocationType.AvailabilityZone,
            Filters = [new Filter("location", ["us-east-1c"]), new Filter("instance-type", ["*.metal"])],
        });
        Assert.DoesNotContain("a1.metal", inZone.InstanceTypeOfferings.Select(o => o.InstanceType.Value));
        Assert.Contains("c7g.metal", inZone.InstanceTypeOfferings.Select(o => o.InstanceType.Value));

        var byRegion = await ec2.DescribeInstanceTypeOfferingsAsync(new DescribeInstanceTypeOfferingsRequest
        {
            Filters = [new Filter("instance-type", ["c8g.metal-24xl"])],
        });
        var offering = Assert.Single(byRegion.InstanceTypeOfferings);
        Assert.Equal(Region, offering.Location);
        Assert.Equal(LocationType.Region, offering.LocationType);

        _emulator.SetOffered("c7g.metal", "us-east-1a", false);
        using var noRetry = Ec2(maxErrorRetry: 0);
        var error = await Ec2ErrorAsync(() => LaunchAsync(noRetry, r => r.Placement = new Placement { AvailabilityZone = "us-east-1a" }));
        Assert.Equal("Unsupported", error.ErrorCode);
    }

    [Fact]
    public async Task Subnets_and_vpcs_describe_the_seeded_network()
    {
        using var ec2 = Ec2();
        var subnets = (await ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest())).Subnets;
        Assert.Equal(4, subnets.Count);
        Assert.All(subnets, s => Assert.False(string.IsNullOrEmpty(s.VpcId)));
        Assert.Equal(3, subnets.Count(s => s.DefaultForAz == true));
        Assert.Equal(["us-east-1a", "us-east-1b", "us-east-1c"], subnets.Where(s => s.DefaultForAz == true).Select(s => s.AvailabilityZone));

        var one = Assert.Single((await ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = [_emulator.OtherVpcSubnet().SubnetId] })).Subnets);
        Assert.NotEqual(_emulator.DefaultVpc().VpcId, one.VpcId);

        var vpcs = (await ec2.DescribeVpcsAsync(new DescribeVpcsRequest { Filters = [new Filter("is-default", ["true"])] })).Vpcs;
        Assert.Equal(_emulator.DefaultVpc().VpcId, Assert.Single(vpcs).VpcId);
        Assert.True(vpcs[0].IsDefault);
    }

    [Fact]
    public async Task Images_describe_by_owner_name_and_architecture()
    {
        using var ec2 = Ec2();
        var images = (await ec2.DescribeImagesAsync(new DescribeImagesRequest
        {
            Owners = ["099720109477"],
            Filters = [new Filter("name", ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-*-server-*"]), new Filter("architecture", ["arm64"])],
        })).Images;

        Assert.Equal(2, images.Count);
        var newest = images.OrderByDescending(i => i.CreationDate).First();
        Assert.Equal("ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-20250115", newest.Name);
        Assert.Equal(ImageId(), newest.ImageId);
        Assert.Equal(ArchitectureValues.Arm64, newest.Architecture);
        Assert.Equal("099720109477", newest.OwnerId);
        Assert.Equal("/dev/sda1", newest.RootDeviceName);

        var byId = Assert.Single((await ec2.DescribeImagesAsync(new DescribeImagesRequest { ImageIds = [ImageId("amd64")] })).Images);
        Assert.Equal(ArchitectureValues.X86_64, byId.Architecture);

        var none = (await ec2.DescribeImagesAsync(new DescribeImagesRequest { Owners = ["self"] })).Images;
        Assert.True(none is null || none.Count == 0);
    }

    // ---- SSM -----------------------------------------------------------------------------------

    [Fact]
    public async Task Ssm_GetParameter_returns_an_ami_DescribeImages_knows()
    {
        using var ssm = Ssm();
        using var ec2 = Ec2();
        foreach (var arch in new[] { "arm64", "amd64" })
        {
            var name = $"/aws/service/canonical/ubuntu/server/24.04/stable/current/{arch}/hvm/ebs-gp3/ami-id";
            var parameter = (await ssm.GetParameterAsync(new GetParameterRequest { Name = name })).Parameter;
            Assert.Equal(name, parameter.Name);
            Assert.StartsWith("ami-", parameter.Value);
            Assert.Equal(ParameterType.String, parameter.Type);
            var image = Assert.Single((await ec2.DescribeImagesAsync(new DescribeImagesRequest { ImageIds = [parameter.Value] })).Images);
            Assert.Contains($"-{arch}-server-", image.Name);
        }

        var request = _emulator.Requests.First(r => r.Service == "ssm");
        Assert.Equal("GetParameter", request.Action);
        Assert.Equal("AmazonSSM.GetParameter", request.Headers["X-Amz-Target"]);
        Assert.Contains("/us-east-1/ssm/aws4_request", request.Headers["Authorization"]);
    }

    [Fact]
    public async Task Ssm_missing_parameter_is_ParameterNotFound()
    {
        using var ssm = Ssm();
        var error = await Assert.ThrowsAsync<ParameterNotFoundException>(() => ssm.GetParameterAsync(new GetParameterRequest { Name = "/no/such/parameter" }));
        Assert.Equal("ParameterNotFound", error.ErrorCode);
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
    }

    [Fact]
    public async Task Ssm_parameters_are_per_region()
    {
        using var east = Ssm();
        using var west = Ssm("eu-west-1");
        const string name = "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id";
        var eastAmi = (await east.GetParameterAsync(new GetParameterRequest { Name = name })).Parameter.Value;
        var westAmi = (await west.GetParameterAsync(new GetParameterRequest { Name = name })).Parameter.Value;
        Assert.NotEqual(eastAmi, westAmi);
        Assert.Equal(ImageId(region: "eu-west-1"), westAmi);
    }

    // ---- request log and concurrency -----------------------------------------------------------

    [Fact]
    public async Task Request_log_counts_actions_with_timestamps_and_resets()
    {
        using var ec2 = Ec2();
        var before = DateTimeOffset.UtcNow;
        await ec2.DescribeVpcsAsync(new DescribeVpcsRequest());
        await ec2.DescribeVpcsAsync(new DescribeVpcsRequest());
        await ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest());

        Assert.Equal(2, _emulator.CountOf("DescribeVpcs"));
        Assert.Equal(new Dictionary<string, int> { ["DescribeVpcs"] = 2, ["DescribeSubnets"] = 1 }, _emulator.ActionCounts);
        Assert.All(_emulator.Requests, r => Assert.True(r.Timestamp >= before.AddSeconds(-1)));
        Assert.True(_emulator.Requests.Zip(_emulator.Requests.Skip(1)).All(p => p.First.Timestamp <= p.Second.Timestamp));

        _emulator.ResetCounters();
        Assert.Equal(0, _emulator.CountOf("DescribeVpcs"));
        Assert.Empty(_emulator.Requests);
    }

    [Fact]
    public async Task Parallel_launches_get_distinct_instances()
    {
        using var ec2 = Ec2();
        var launched = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => LaunchAsync(ec2)));
        Assert.Equal(8, launched.Select(i => i.InstanceId).Distinct().Count());
        Assert.Equal(8, launched.Select(i => i.PrivateIpAddress).Distinct().Count());
        Assert.Equal(8, _emulator.Instances.Count);
    }

    // ---- key material helpers ------------------------------------------------------------------

    /// <summary>The .NET SDK sends PublicKeyMaterial as given; EC2 wants base64 of the key text.</summary>
    private static string Base64(string text) => Convert.ToBase64String(Encoding.ASCII.GetBytes(text));

    private static string NewRsaPublicKey()
    {
        using var rsa = RSA.Create(2048);
        var p = rsa.ExportParameters(false);
        return "ssh-rsa " + Convert.ToBase64String(SshBlob(Encoding.ASCII.GetBytes("ssh-rsa"), Mpint(p.Exponent!), Mpint(p.Modulus!))) + " test@emulator";
    }

    /// <summary>The fingerprint EC2 gives imported RSA keys: MD5 of the DER public key, colon-hex.</summary>
    private static string RsaFingerprint(string openSshLine)
    {
        var blob = Convert.FromBase64String(openSshLine.Split(' ')[1]);
        var fields = ReadSshStrings(blob);
        using var rsa = RSA.Create();
        rsa.ImportParameters(new RSAParameters { Exponent = fields[1].SkipWhile(b => b == 0).ToArray(), Modulus = fields[2].SkipWhile(b => b == 0).ToArray() });
        return string.Join(":", MD5.HashData(rsa.ExportSubjectPublicKeyInfo()).Select(b => b.ToString("x2")));
    }

    private static (string Line, string Fingerprint) NewEd25519PublicKey()
    {
        var blob = SshBlob(Encoding.ASCII.GetBytes("ssh-ed25519"), RandomNumberGenerator.GetBytes(32));
        return ("ssh-ed25519 " + Convert.ToBase64String(blob), Convert.ToBase64String(SHA256.HashData(blob)));
    }

    private static byte[] Mpint(byte[] magnitude) => (magnitude[0] & 0x80) != 0 ? [0, .. magnitude] : magnitude;

    private static byte[] SshBlob(params byte[][] strings)
    {
        var output = new MemoryStream();
        foreach (var s in strings)
        {
            output.Write([(byte)(s.Length >> 24), (byte)(s.Length >> 16), (byte)(s.Length >> 8), (byte)s.Length]);
            output.Write(s);
        }
        return output.ToArray();
    }

    private static List<byte[]> ReadSshStrings(byte[] blob)
    {
        var result = new List<byte[]>();
        for (var offset = 0; offset < blob.Length;)
        {
            var length = blob[offset] << 24 | blob[offset + 1] << 16 | blob[offset + 2] << 8 | blob[offset + 3];
            result.Add(blob[(offset + 4)..(offset + 4 + length)]);
            offset += 4 + length;
        }
        return result;
    }
}
