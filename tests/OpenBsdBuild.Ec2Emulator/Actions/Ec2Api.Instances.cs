using System.Globalization;
using System.Text;
using OpenBsdBuild.Emulation.Model;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Actions;

// RunInstances, DescribeInstances, TerminateInstances, GetConsoleOutput.
internal sealed partial class Ec2Api
{
    private static readonly string[] VolumeTypes = ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"];

    private string RunInstances(Ec2Call c)
    {
        var q = c.Query;

        // Idempotency first: a retried request must not launch twice, whatever else happened since.
        var clientToken = q.Get("ClientToken");
        var fingerprint = string.Join("&", q.All.Where(kv => kv.Key != "ClientToken")
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + kv.Value));
        if (clientToken is not null && _state.ClientTokens.TryGetValue((c.Region.Name, clientToken), out var earlier))
        {
            if (earlier.Fingerprint != fingerprint)
                throw new Ec2Error("IdempotentParameterMismatch",
                    $"Arguments on this idempotent request are inconsistent with arguments used in previous request(s) with client token '{clientToken}'.");
            var again = _state.Instances.Values.Where(i => i.ReservationId == earlier.ReservationId).OrderBy(i => i.LaunchIndex).ToList();
            return WriteReservationResponse(c, earlier.ReservationId, again);
        }

        var image = FindImage(c, q.Required("ImageId"));
        var typeName = q.Required("InstanceType");
        var type = _state.FindType(typeName)
                   ?? throw Ec2Error.InvalidParameterValue($"Invalid value '{typeName}' for InstanceType.");
        if (type.Architecture != image.Architecture)
            throw Ec2Error.InvalidParameterValue(
                $"The architecture '{type.Architecture}' of the specified instance type does not match the architecture " +
                $"'{image.Architecture}' of the specified AMI. Specify an instance type and an AMI that have matching " +
                "architectures, and try again.");

        var minCount = q.GetInt("MinCount") ?? throw Ec2Error.MissingParameter("MinCount");
        var maxCount = q.GetInt("MaxCount") ?? throw Ec2Error.MissingParameter("MaxCount");
        if (minCount < 1) throw Ec2Error.InvalidParameterValue($"Value ({minCount}) for parameter minCount is invalid. Expected a positive value.");
        if (maxCount < minCount) throw Ec2Error.InvalidParameterValue($"Value ({maxCount}) for parameter maxCount is invalid. Expected a value greater than or equal to minCount.");

        var keyName = q.Get("KeyName");
        if (keyName is not null && !_state.KeyPairs.Values.Any(k => k.Region == c.Region.Name && k.Name == keyName))
            throw new Ec2Error("InvalidKeyPair.NotFound", $"The key pair '{keyName}' does not exist");

        var (subnet, groups, associatePublicIp) = ResolveNetwork(c, type);
        var userData = ValidateUserData(q.Get("UserData"));
        var shutdownBehavior = q.Get("InstanceInitiatedShutdownBehavior") ?? "stop";
        if (shutdownBehavior is not ("stop" or "terminate"))
            throw Ec2Error.InvalidParameterValue($"Invalid value '{shutdownBehavior}' for instanceInitiatedShutdownBehavior");

        var metadata = q.Struct("MetadataOptions");
        var httpTokens = metadata?.Get("HttpTokens") ?? "optional";
        if (httpTokens is not ("optional" or "required"))
            throw Ec2Error.InvalidParameterValue($"Invalid value '{httpTokens}' for HttpTokens. Valid values: optional, required");
        var hopLimit = metadata?.GetInt("HttpPutResponseHopLimit") ?? 1;
        if (hopLimit is < 1 or > 64)
            throw Ec2Error.InvalidParameterValue($"Invalid value '{hopLimit}' for HttpPutResponseHopLimit. Valid values: 1-64");
        var httpEndpoint = metadata?.Get("HttpEndpoint") ?? "enabled";
        if (httpEndpoint is not ("enabled" or "disabled"))
            throw Ec2Error.InvalidParameterValue($"Invalid value '{httpEndpoint}' for HttpEndpoint. Valid values: enabled, disabled");

        var (isSpot, maxPrice) = ResolveMarket(q, type, subnet.AvailabilityZone);
        var volumes = ResolveBlockDevices(q, image);
        var tagSpecs = TagSpecifications(q, "instance", "volume", "network-interface", "spot-instances-request");

        // Everything is valid: launch.
        var now = _state.Now;
        var reservationId = _state.NewId("r");
        var launched = new List<InstanceRecord>();
        for (var index = 0; index < maxCount; index++)
        {
            var instance = new InstanceRecord
            {
                Id = _state.NewId("i"),
                Region = c.Region.Name,
                ReservationId = reservationId,
                ImageId = image.ImageId,
                Type = type,
                AvailabilityZone = subnet.AvailabilityZone,
                SubnetId = subnet.SubnetId,
                VpcId = subnet.VpcId,
                KeyName = keyName,
                SecurityGroupIds = groups.Select(g => g.Id).ToList(),
                LaunchTime = now,
                LaunchIndex = index,
                UserDataBase64 = userData,
                ShutdownBehavior = shutdownBehavior,
                HttpTokens = httpTokens,
                HopLimit = hopLimit,
                HttpEndpoint = httpEndpoint,
                ClientToken = clientToken,
                RootDeviceName = image.RootDeviceName,
                IsSpot = isSpot,
                SpotMaxPrice = maxPrice,
                SpotRequestId = isSpot ? "sir-" + _state.NewId("x")[3..11] : null,
                TransitionDue = now + _state.PendingDelay,
                PrivateIp = _state.NextPrivateIp(subnet),
            };
            if (associatePublicIp) instance.PublicIp = _state.NextPublicIp();
            if (tagSpecs.TryGetValue("instance", out var instanceTags))
                foreach (var t in instanceTags) instance.Tags[t.Key] = t.Value;

            // Tests may point the instance at a real sshd; null keeps the emulator's choice.
            if (_state.AddressProvider is { } provide)
            {
                var (publicIp, privateIp) = provide(instance.ToSnapshot());
                if (publicIp is not null) instance.PublicIp = publicIp;
                if (privateIp is not null) instance.PrivateIp = privateIp;
            }

            foreach (var spec in volumes)
            {
                var volume = new VolumeRecord
                {
                    Id = _state.NewId("vol"),
                    Region = c.Region.Name,
                    AvailabilityZone = subnet.AvailabilityZone,
                    Size = spec.Size,
                    VolumeType = spec.Type,
                    Encrypted = spec.Encrypted,
                    Iops = spec.Iops,
                    Throughput = spec.Throughput,
                    SnapshotId = spec.SnapshotId,
                    CreateTime = now,
                    DeleteOnTermination = spec.DeleteOnTermination,
                    InstanceId = instance.Id,
                    Device = spec.Device,
                    AttachTime = now,
                };
                if (tagSpecs.TryGetValue("volume", out var volumeTags))
                    foreach (var t in volumeTags) volume.Tags[t.Key] = t.Value;
                _state.Volumes[volume.Id] = volume;
                instance.Volumes.Add((spec.Device, volume.Id));
            }

            _state.Instances[instance.Id] = instance;
            launched.Add(instance);
        }

        if (clientToken is not null) _state.ClientTokens[(c.Region.Name, clientToken)] = (reservationId, fingerprint);
        return WriteReservationResponse(c, reservationId, launched);
    }

    private EmulatedImage FindImage(Ec2Call c, string imageId)
    {
        RequireWellFormed(imageId, "ami", "InvalidAMIID.Malformed");
        return _state.ImagesIn(c.Region).FirstOrDefault(i => i.ImageId == imageId)
               ?? throw new Ec2Error("InvalidAMIID.NotFound", $"The image id '[{imageId}]' does not exist");
    }

    /// <summary>
    /// Subnet, security groups and public-IP choice, from either the top-level SubnetId /
    /// SecurityGroupId.N or the primary NetworkInterface.N (EC2 forbids mixing the two).
    /// Without a subnet, the default subnet of the first zone that offers the type and has
    /// capacity is used — EC2 picks one for you, too.
    /// </summary>
    private (EmulatedSubnet Subnet, List<SecurityGroupRecord> Groups, bool PublicIp) ResolveNetwork(Ec2Call c, EmulatedInstanceType type)
    {
        var q = c.Query;
        var interfaces = q.StructList("NetworkInterface");
        string? subnetId;
        IReadOnlyList<string> groupIds;
        IReadOnlyList<string> groupNames = q.List("SecurityGroup");
        bool? associatePublicIp = null;
        if (interfaces.Count > 0)
        {
            if (q.Has("SubnetId"))
                throw Ec2Error.InvalidParameterCombination("Network interfaces and an instance-level subnet ID may not be specified on the same request");
            if (q.List("SecurityGroupId").Count > 0 || groupNames.Count > 0)
                throw Ec2Error.InvalidParameterCombination("Network interfaces and an instance-level security groups may not be specified on the same request");
            var primary = interfaces.FirstOrDefault(n => n.Get("DeviceIndex") == "0") ?? interfaces[0];
            subnetId = primary.Get("SubnetId");
            groupIds = primary.List("SecurityGroupId");
            associatePublicIp = primary.GetBool("AssociatePublicIpAddress");
        }
        else
        {
            subnetId = q.Get("SubnetId");
            groupIds = q.List("SecurityGroupId");
        }

        var placementZone = q.Get("Placement.AvailabilityZone");
        if (placementZone is not null && !c.Region.Zones.Contains(placementZone))
            throw Ec2Error.InvalidParameterValue($"Invalid availability zone: [{placementZone}]");

        EmulatedSubnet subnet;
        if (subnetId is not null)
        {
            RequireWellFormed(subnetId, "subnet", "InvalidSubnetID.Malformed");
            subnet = c.Region.Subnets.FirstOrDefault(s => s.SubnetId == subnetId)
                     ?? throw new Ec2Error("InvalidSubnetID.NotFound", $"The subnet ID '{subnetId}' does not exist");
            if (placementZone is not null && placementZone != subnet.AvailabilityZone)
                throw Ec2Error.InvalidParameterValue(
                    $"Value ({placementZone}) for parameter availabilityZone is invalid. Subnet '{subnet.SubnetId}' is in the availability zone {subnet.AvailabilityZone}");
            RequireOfferedWithCapacity(c, type, subnet.AvailabilityZone);
        }
        else
        {
            var zone = placementZone ?? PickZone(c, type);
            RequireOfferedWithCapacity(c, type, zone);
            subnet = c.Region.Subnets.First(s => s.AvailabilityZone == zone && s.DefaultForAz);
        }

        var groups = new List<SecurityGroupRecord>();
        foreach (var id in groupIds)
        {
            var g = FindGroup(c, id);
            if (g.VpcId != subnet.VpcId)
                throw new Ec2Error("InvalidParameter", $"Security group {g.Id} and subnet {subnet.SubnetId} belong to different networks.");
            groups.Add(g);
        }
        foreach (var name in groupNames)
        {
            groups.Add(_state.SecurityGroups.Values.FirstOrDefault(g => g.Region == c.Region.Name && g.VpcId == subnet.VpcId && g.Name == name)
                       ?? throw new Ec2Error("InvalidGroup.NotFound", $"The security group '{name}' does not exist in VPC '{subnet.VpcId}'"));
        }
        if (groups.Count == 0)
            groups.Add(_state.SecurityGroups.Values.First(g => g.Region == c.Region.Name && g.VpcId == subnet.VpcId && g.Name == "default"));

        return (subnet, groups, associatePublicIp ?? subnet.MapPublicIpOnLaunch);
    }

    private string PickZone(Ec2Call c, EmulatedInstanceType type)
    {
        var offered = c.Region.Zones.Where(z => _state.Offerings.Contains((type.InstanceType, z))).ToList();
        if (offered.Count == 0)
            throw new Ec2Error("Unsupported", "The requested configuration is currently not supported. Please check the documentation for supported configurations.");
        var withCapacity = offered.FirstOrDefault(z => _state.Faults.HasCapacity(type.InstanceType, z));
        return withCapacity
               ?? throw new Ec2Error("InsufficientInstanceCapacity",
                   $"We currently do not have sufficient {type.InstanceType} capacity in the Region you requested ({c.Region.Name}). " +
                   "Our system will be working on provisioning additional capacity.");
    }

    private void RequireOfferedWithCapacity(Ec2Call c, EmulatedInstanceType type, string zone)
    {
        var others = c.Region.Zones.Where(z => z != zone && _state.Offerings.Contains((type.InstanceType, z))).ToList();
        if (!_state.Offerings.Contains((type.InstanceType, zone)))
            throw new Ec2Error("Unsupported",
                $"Your requested instance type ({type.InstanceType}) is not supported in your requested Availability Zone ({zone}). " +
                $"Please retry your request by not specifying an Availability Zone or choosing {string.Join(", ", others)}.");
        if (!_state.Faults.HasCapacity(type.InstanceType, zone))
        {
            var alternatives = others.Where(z => _state.Faults.HasCapacity(type.InstanceType, z)).ToList();
            throw new Ec2Error("InsufficientInstanceCapacity",
                $"We currently do not have sufficient {type.InstanceType} capacity in the Availability Zone you requested ({zone}). " +
                "Our system will be working on provisioning additional capacity." +
                (alternatives.Count > 0
                    ? $" You can currently get {type.InstanceType} capacity by not specifying an Availability Zone in your request or choosing {string.Join(", ", alternatives)}."
                    : ""));
        }
    }

    private static string? ValidateUserData(string? userData)
    {
        if (userData is null) return null;
        var buffer = new byte[userData.Length];
        if (!Convert.TryFromBase64String(userData, buffer, out var length))
            throw Ec2Error.InvalidParameterValue("Invalid BASE64 encoding of user data.");
        if (length > 16 * 1024)
            throw Ec2Error.InvalidParameterValue("User data is limited to 16384 bytes");
        return userData;
    }

    private (bool IsSpot, string? MaxPrice) ResolveMarket(QueryParameters q, EmulatedInstanceType type, string zone)
    {
        var market = q.Struct("InstanceMarketOptions");
        var marketType = market?.Get("MarketType");
        if (marketType is null) return (false, null);
        if (marketType != "spot")
            throw Ec2Error.InvalidParameterValue($"Invalid value '{marketType}' for MarketType.");

        var spot = market!.Struct("SpotOptions");
        var maxPriceText = spot?.Get("MaxPrice");
        var current = _state.SpotPrice(type, zone);
        if (maxPriceText is not null)
        {
            if (!decimal.TryParse(maxPriceText, NumberStyles.Float, CultureInfo.InvariantCulture, out var maxPrice) || maxPrice <= 0)
                throw Ec2Error.InvalidParameterValue($"Invalid value '{maxPriceText}' for MaxPrice.");
            if (maxPrice < current)
                throw new Ec2Error("SpotMaxPriceTooLow",
                    $"Your Spot request price of {maxPriceText} is lower than the minimum required Spot request fulfillment price of {current.ToString(CultureInfo.InvariantCulture)}.");
        }
        return (true, maxPriceText ?? type.OnDemandPrice.ToString(CultureInfo.InvariantCulture));
    }

    private sealed record VolumeSpec(string Device, int Size, string Type, bool Encrypted, bool DeleteOnTermination, int? Iops, int? Throughput, string? SnapshotId);

    /// <summary>The AMI's root volume (possibly overridden by a mapping for its device) plus any extra EBS mappings.</summary>
    private static List<VolumeSpec> ResolveBlockDevices(QueryParameters q, EmulatedImage image)
    {
        var rootSnapshot = image.RootSnapshotId ?? Catalog.DerivedId("snap", image.ImageId);
        var specs = new List<VolumeSpec>();
        var mappings = q.StructList("BlockDeviceMapping");
        var rootOverride = mappings.FirstOrDefault(m => m.Get("DeviceName") == image.RootDeviceName)?.Struct("Ebs");
        specs.Add(ToSpec(image.RootDeviceName, rootOverride, image.RootVolumeSizeGiB, image.RootVolumeType, rootSnapshot, isRoot: true));

        foreach (var m in mappings)
        {
            var device = m.Get("DeviceName") ?? throw Ec2Error.MissingParameter("BlockDeviceMapping.DeviceName");
            if (device == image.RootDeviceName || m.Has("NoDevice") || m.Has("VirtualName")) continue;
            var ebs = m.Struct("Ebs") ?? throw new Ec2Error("InvalidBlockDeviceMapping", $"The device '{device}' requires an EBS volume specification");
            specs.Add(ToSpec(device, ebs, null, "gp2", ebs.Get("SnapshotId"), isRoot: false));
        }
        return specs;

        static VolumeSpec ToSpec(string device, QueryParameters? ebs, int? defaultSize, string defaultType, string? snapshotId, bool isRoot)
        {
            var size = ebs?.GetInt("VolumeSize") ?? defaultSize
                       ?? throw new Ec2Error("InvalidBlockDeviceMapping", $"The device '{device}' requires a volume size or snapshot");
            if (isRoot && size < defaultSize)
                throw new Ec2Error("InvalidBlockDeviceMapping",
                    $"Volume of size {size}GB is smaller than snapshot '{snapshotId}', expect size >= {defaultSize}GB");
            if (size is < 1 or > 65536)
                throw Ec2Error.InvalidParameterValue($"Value ({size}) for parameter volumeSize is invalid.");
            var type = ebs?.Get("VolumeType") ?? defaultType;
            if (!VolumeTypes.Contains(type))
                throw Ec2Error.InvalidParameterValue($"Value ({type}) for parameter volumeType is invalid. Valid values are: {string.Join(", ", VolumeTypes)}");
            int? iops = ebs?.GetInt("Iops") ?? type switch { "gp3" => 3000, "gp2" => Math.Clamp(size * 3, 100, 16000), _ => null };
            int? throughput = ebs?.GetInt("Throughput") ?? (type == "gp3" ? 125 : null);
            return new VolumeSpec(device, size, type, ebs?.GetBool("Encrypted") ?? false, ebs?.GetBool("DeleteOnTermination") ?? isRoot,
                iops, throughput, snapshotId);
        }
    }

    private string WriteReservationResponse(Ec2Call c, string reservationId, IReadOnlyList<InstanceRecord> instances)
    {
        var x = c.Response();
        x.Leaf("reservationId", reservationId);
        x.Leaf("ownerId", _state.AccountId);
        x.Items("groupSet", Array.Empty<string>(), _ => { }); // VPC launches leave the EC2-Classic group set empty
        x.Items("instancesSet", instances, i => WriteInstance(x, i));
        return x.Finish();
    }

    private string DescribeInstances(Ec2Call c)
    {
        var ids = c.Query.List("InstanceId");
        var filters = Filters.Parse(c.Query, taggable: true,
            "instance-id", "instance-state-name", "instance-state-code", "instance-type", "image-id", "availability-zone",
            "subnet-id", "vpc-id", "key-name", "reservation-id", "private-ip-address", "ip-address", "instance-lifecycle",
            "client-token", "architecture", "instance.group-id", "network-interface.subnet-id");

        foreach (var id in ids) RequireWellFormed(id, "i", "InvalidInstanceID.Malformed");
        var missing = ids.Where(id => !_state.Instances.TryGetValue(id, out var i) || i.Region != c.Region.Name).ToList();
        if (missing.Count > 0) throw Ec2Error.NotFound("InvalidInstanceID.NotFound", "instance", missing);

        var selected = _state.Instances.Values
            .Where(i => i.Region == c.Region.Name && (ids.Count == 0 || ids.Contains(i.Id)))
            .Where(i => filters.Matches(name => InstanceField(i, name), i.Tags))
            .OrderBy(i => i.LaunchTime).ThenBy(i => i.LaunchIndex)
            .GroupBy(i => i.ReservationId);

        var x = c.Response();
        x.Items("reservationSet", selected, r =>
        {
            x.Leaf("reservationId", r.Key);
            x.Leaf("ownerId", _state.AccountId);
            x.Items("groupSet", Array.Empty<string>(), _ => { });
            x.Items("instancesSet", r, i => WriteInstance(x, i));
        });
        return x.Finish();
    }

    private static IEnumerable<string?> InstanceField(InstanceRecord i, string name) => name switch
    {
        "instance-id" => [i.Id],
        "instance-state-name" => [i.State.ToWire()],
        "instance-state-code" => [((int)i.State).ToString(CultureInfo.InvariantCulture)],
        "instance-type" => [i.Type.InstanceType],
        "image-id" => [i.ImageId],
        "availability-zone" => [i.AvailabilityZone],
        "subnet-id" or "network-interface.subnet-id" => [i.SubnetId],
        "vpc-id" => [i.VpcId],
        "key-name" => [i.KeyName],
        "reservation-id" => [i.ReservationId],
        "private-ip-address" => [i.PrivateIp],
        "ip-address" => [i.PublicIp],
        "instance-lifecycle" => [i.IsSpot ? "spot" : null],
        "client-token" => [i.ClientToken],
        "architecture" => [i.Type.Architecture],
        "instance.group-id" => (IEnumerable<string?>)i.SecurityGroupIds,
        _ => [],
    };

    /// <summary>The Instance shape from the API reference, as far as the module can care.</summary>
    private void WriteInstance(Ec2Xml x, InstanceRecord i)
    {
        x.Leaf("instanceId", i.Id);
        x.Leaf("imageId", i.ImageId);
        WriteStateItem(x, "instanceState", i.State);
        x.Leaf("privateDnsName", i.PrivateIp is null ? "" : Ec2State.PrivateDnsName(i.Region, i.PrivateIp));
        x.Leaf("dnsName", i.PublicIp is null ? "" : Ec2State.PublicDnsName(i.Region, i.PublicIp));
        x.Leaf("reason", i.TransitionReason ?? "");
        x.Leaf("keyName", i.KeyName);
        x.Leaf("amiLaunchIndex", i.LaunchIndex);
        x.Items("productCodes", Array.Empty<string>(), _ => { });
        x.Leaf("instanceType", i.Type.InstanceType);
        x.Leaf("launchTime", i.LaunchTime);
        using (x.Open("placement"))
        {
            x.Leaf("availabilityZone", i.AvailabilityZone);
            x.Leaf("groupName", "");
            x.Leaf("tenancy", "default");
        }
        using (x.Open("monitoring")) x.Leaf("state", "disabled");
        if (!i.IsGone)
        {
            x.Leaf("subnetId", i.SubnetId);
            x.Leaf("vpcId", i.VpcId);
            x.Leaf("privateIpAddress", i.PrivateIp);
        }
        x.Leaf("ipAddress", i.PublicIp);
        x.Leaf("sourceDestCheck", true);
        x.Items("groupSet", i.IsGone ? [] : i.SecurityGroupIds, id =>
        {
            x.Leaf("groupId", id);
            x.Leaf("groupName", _state.SecurityGroups.TryGetValue(id, out var g) ? g.Name : "");
        });
        if (i.StateReasonCode is not null)
        {
            using (x.Open("stateReason"))
            {
                x.Leaf("code", i.StateReasonCode);
                x.Leaf("message", i.StateReasonMessage);
            }
        }
        x.Leaf("architecture", i.Type.Architecture);
        x.Leaf("rootDeviceType", "ebs");
        x.Leaf("rootDeviceName", i.RootDeviceName);
        x.Items("blockDeviceMapping", i.IsGone ? [] : i.Volumes, v =>
        {
            var volume = _state.Volumes[v.VolumeId];
            x.Leaf("deviceName", v.Device);
            using (x.Open("ebs"))
            {
                x.Leaf("volumeId", v.VolumeId);
                x.Leaf("status", "attached");
                x.Leaf("attachTime", volume.AttachTime);
                x.Leaf("deleteOnTermination", volume.DeleteOnTermination);
            }
        });
        if (i.IsSpot)
        {
            x.Leaf("instanceLifecycle", "spot");
            x.Leaf("spotInstanceRequestId", i.SpotRequestId);
        }
        x.Leaf("virtualizationType", "hvm");
        x.Leaf("clientToken", i.ClientToken ?? "");
        x.TagSet(i.Tags);
        x.Leaf("hypervisor", "xen");
        x.Leaf("ebsOptimized", true);
        x.Leaf("enaSupport", true);
        using (x.Open("cpuOptions"))
        {
            x.Leaf("coreCount", i.Type.Cores);
            x.Leaf("threadsPerCore", i.Type.ThreadsPerCore);
        }
        using (x.Open("metadataOptions"))
        {
            x.Leaf("state", i.State == EmulatedInstanceState.Pending ? "pending" : "applied");
            x.Leaf("httpTokens", i.HttpTokens);
            x.Leaf("httpPutResponseHopLimit", i.HopLimit);
            x.Leaf("httpEndpoint", i.HttpEndpoint);
            x.Leaf("httpProtocolIpv6", "disabled");
            x.Leaf("instanceMetadataTags", "disabled");
        }
        x.Leaf("platformDetails", "Linux/UNIX");
        x.Leaf("usageOperation", "RunInstances");
        x.Leaf("currentInstanceBootMode", i.Type.Architecture == "arm64" ? "uefi" : "legacy-bios");
    }

    private string TerminateInstances(Ec2Call c)
    {
        var ids = c.Query.List("InstanceId");
        if (ids.Count == 0) throw Ec2Error.MissingParameter("InstanceId");
        foreach (var id in ids) RequireWellFormed(id, "i", "InvalidInstanceID.Malformed");
        var missing = ids.Where(id => !_state.Instances.TryGetValue(id, out var i) || i.Region != c.Region.Name).ToList();
        if (missing.Count > 0) throw Ec2Error.NotFound("InvalidInstanceID.NotFound", "instance", missing);

        var now = _state.Now;
        var changes = ids.Distinct().Select(id =>
        {
            var i = _state.Instances[id];
            var previous = _state.BeginTermination(i, "Client.UserInitiatedShutdown",
                "Client.UserInitiatedShutdown: User initiated shutdown",
                $"User initiated ({now.UtcDateTime:yyyy-MM-dd HH:mm:ss} GMT)");
            return (Id: id, Previous: previous, Current: i.State);
        }).ToList();

        var x = c.Response();
        x.Items("instancesSet", changes, ch =>
        {
            x.Leaf("instanceId", ch.Id);
            WriteStateItem(x, "currentState", ch.Current);
            WriteStateItem(x, "previousState", ch.Previous);
        });
        return x.Finish();
    }

    /// <summary>
    /// As the EC2 API reference describes GetConsoleOutput: by default the buffered output posted
    /// shortly after the last state transition (here: what the provider said when the instance
    /// turned running), and with Latest=true the console as it is now. Either way only the last
    /// 64 KB, and nothing until the instance has been running for ConsoleOutputDelay (the console
    /// lags boot). Without a provider, a short kernel line stands for the console.
    /// </summary>
    private string GetConsoleOutput(Ec2Call c)
    {
        var instance = FindInstance(c, c.Query.Required("InstanceId"));
        bool latest = c.Query.GetBool("Latest") ?? false;
        if (latest && _state.Faults.LatestConsoleRefusal is { } refusal)
            throw new Ec2Error(refusal, "The latest console output is not supported for this instance type.");
        var now = _state.Now;
        string? output = null;
        if (instance.RunningSince is { } since && now - since >= _state.ConsoleOutputDelay)
            output = LastConsoleBytes(latest ? _state.ConsoleText(instance) : instance.BufferedConsole);

        var x = c.Response();
        x.Leaf("instanceId", instance.Id);
        x.Leaf("timestamp", now);
        x.Leaf("output", output is null ? null : Convert.ToBase64String(Encoding.UTF8.GetBytes(output)));
        return x.Finish();
    }

    /// <summary>"Only the most recent 64 KB of console output is available."</summary>
    private static string? LastConsoleBytes(string? text)
    {
        const int Limit = 64 * 1024;
        if (text is null || Encoding.UTF8.GetByteCount(text) <= Limit) return text;
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        return Encoding.UTF8.GetString(bytes, bytes.Length - Limit, Limit);
    }
}
