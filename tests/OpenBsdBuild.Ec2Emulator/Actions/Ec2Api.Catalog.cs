using System.Globalization;
using OpenBsdBuild.Emulation.Model;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Actions;

// Read-only views of the seeded world: zones, instance types and offerings, subnets, VPCs,
// images, spot prices. None of these paginate: the emulator's lists are short.
internal sealed partial class Ec2Api
{
    private string DescribeAvailabilityZones(Ec2Call c)
    {
        var q = c.Query;
        var names = q.List("ZoneName");
        var zoneIds = q.List("ZoneId");
        var filters = Filters.Parse(q, taggable: false, "zone-name", "zone-id", "state", "region-name", "zone-type", "opt-in-status");
        foreach (var n in names.Where(n => !c.Region.Zones.Contains(n)))
            throw Ec2Error.InvalidParameterValue($"Invalid availability zone: [{n}]");

        var zones = c.Region.Zones
            .Where(z => names.Count == 0 || names.Contains(z))
            .Where(z => zoneIds.Count == 0 || zoneIds.Contains(Catalog.ZoneId(c.Region.Name, z)))
            .Where(z => filters.Matches(f => f switch
            {
                "zone-name" => [z],
                "zone-id" => [Catalog.ZoneId(c.Region.Name, z)],
                "state" => ["available"],
                "region-name" => [c.Region.Name],
                "zone-type" => ["availability-zone"],
                "opt-in-status" => ["opt-in-not-required"],
                _ => [],
            }));

        var x = c.Response();
        x.Items("availabilityZoneInfo", zones, z =>
        {
            x.Leaf("zoneName", z);
            x.Leaf("zoneState", "available");
            x.Leaf("regionName", c.Region.Name);
            x.Items("messageSet", Array.Empty<string>(), _ => { });
            x.Leaf("zoneId", Catalog.ZoneId(c.Region.Name, z));
            x.Leaf("zoneType", "availability-zone");
            x.Leaf("optInStatus", "opt-in-not-required");
            x.Leaf("groupName", c.Region.Name);
            x.Leaf("networkBorderGroup", c.Region.Name);
        });
        return x.Finish();
    }

    private string DescribeInstanceTypeOfferings(Ec2Call c)
    {
        var q = c.Query;
        var locationType = q.Get("LocationType") ?? "region";
        var filters = Filters.Parse(q, taggable: false, "instance-type", "location");

        IEnumerable<(string Type, string Location)> rows = locationType switch
        {
            "region" => _state.Offerings.Where(o => c.Region.Zones.Contains(o.Zone))
                .Select(o => o.InstanceType).Distinct().Select(t => (t, c.Region.Name)),
            "availability-zone" => _state.Offerings.Where(o => c.Region.Zones.Contains(o.Zone))
                .Select(o => (o.InstanceType, o.Zone)),
            "availability-zone-id" => _state.Offerings.Where(o => c.Region.Zones.Contains(o.Zone))
                .Select(o => (o.InstanceType, Catalog.ZoneId(c.Region.Name, o.Zone))),
            _ => throw Ec2Error.InvalidParameterValue($"Invalid value '{locationType}' for LocationType. Valid values: region, availability-zone, availability-zone-id"),
        };

        var selected = rows
            .Where(r => filters.Matches(f => f switch
            {
                "instance-type" => [r.Type],
                "location" => [r.Location],
                _ => [],
            }))
            .OrderBy(r => r.Type, StringComparer.Ordinal).ThenBy(r => r.Location, StringComparer.Ordinal);

        var x = c.Response();
        x.Items("instanceTypeOfferingSet", selected, r =>
        {
            x.Leaf("instanceType", r.Type);
            x.Leaf("locationType", locationType);
            x.Leaf("location", r.Location);
        });
        return x.Finish();
    }

    private string DescribeInstanceTypes(Ec2Call c)
    {
        var q = c.Query;
        var names = q.List("InstanceType");
        var filters = Filters.Parse(q, taggable: false,
            "instance-type", "processor-info.supported-architecture", "bare-metal", "vcpu-info.default-vcpus",
            "memory-info.size-in-mib", "current-generation");
        var unknown = names.Where(n => _state.FindType(n) is null).ToList();
        if (unknown.Count > 0)
            throw new Ec2Error("InvalidInstanceType", $"The following supplied instance types do not exist: [{string.Join(", ", unknown)}]");

        var selected = Catalog.InstanceTypes
            .Where(t => names.Count == 0 || names.Contains(t.InstanceType))
            .Where(t => filters.Matches(f => f switch
            {
                "instance-type" => [t.InstanceType],
                "processor-info.supported-architecture" => [t.Architecture],
                "bare-metal" => [t.BareMetal ? "true" : "false"],
                "vcpu-info.default-vcpus" => [t.VCpus.ToString(CultureInfo.InvariantCulture)],
                "memory-info.size-in-mib" => [t.MemoryMiB.ToString(CultureInfo.InvariantCulture)],
                "current-generation" => ["true"],
                _ => [],
            }));

        var x = c.Response();
        x.Items("instanceTypeSet", selected, t =>
        {
            x.Leaf("instanceType", t.InstanceType);
            x.Leaf("currentGeneration", true);
            x.Leaf("freeTierEligible", false);
            x.ValueItems("supportedUsageClasses", ["on-demand", "spot"]);
            x.ValueItems("supportedRootDeviceTypes", ["ebs"]);
            x.ValueItems("supportedVirtualizationTypes", ["hvm"]);
            x.Leaf("bareMetal", t.BareMetal);
            if (!t.BareMetal) x.Leaf("hypervisor", "nitro"); // metal types have none
            using (x.Open("processorInfo"))
            {
                x.ValueItems("supportedArchitectures", [t.Architecture]);
                x.Leaf("sustainedClockSpeedInGhz", t.ClockGhz);
                x.Leaf("manufacturer", t.Architecture == "arm64" ? "AWS" : "Intel");
            }
            using (x.Open("vCpuInfo"))
            {
                x.Leaf("defaultVCpus", t.VCpus);
                x.Leaf("defaultCores", t.Cores);
                x.Leaf("defaultThreadsPerCore", t.ThreadsPerCore);
            }
            using (x.Open("memoryInfo")) x.Leaf("sizeInMiB", t.MemoryMiB);
            x.Leaf("instanceStorageSupported", false);
            using (x.Open("ebsInfo"))
            {
                x.Leaf("ebsOptimizedSupport", "default");
                x.Leaf("encryptionSupport", "supported");
                x.Leaf("nvmeSupport", "required");
            }
            using (x.Open("networkInfo"))
            {
                x.Leaf("networkPerformance", t.BareMetal ? "25 Gigabit" : "Up to 5 Gigabit");
                x.Leaf("maximumNetworkInterfaces", t.BareMetal ? 15 : 2);
                x.Leaf("ipv6Supported", true);
                x.Leaf("enaSupport", "required");
            }
            x.Leaf("hibernationSupported", false);
            x.Leaf("burstablePerformanceSupported", t.InstanceType.StartsWith('t'));
            x.Leaf("dedicatedHostsSupported", t.BareMetal);
            x.Leaf("autoRecoverySupported", true);
            x.ValueItems("supportedBootModes", t.Architecture == "arm64" ? ["uefi"] : ["legacy-bios", "uefi"]);
        });
        return x.Finish();
    }

    private string DescribeSubnets(Ec2Call c)
    {
        var q = c.Query;
        var ids = q.List("SubnetId");
        var filters = Filters.Parse(q, taggable: true,
            "subnet-id", "vpc-id", "availability-zone", "availability-zone-id", "default-for-az", "cidr-block", "state", "map-public-ip-on-launch");
        foreach (var id in ids) RequireWellFormed(id, "subnet", "InvalidSubnetID.Malformed");
        var missing = ids.Where(id => c.Region.Subnets.All(s => s.SubnetId != id)).ToList();
        if (missing.Count > 0) throw Ec2Error.NotFound("InvalidSubnetID.NotFound", "subnet", missing);

        var selected = c.Region.Subnets
            .Where(s => ids.Count == 0 || ids.Contains(s.SubnetId))
            .Where(s => filters.Matches(f => f switch
            {
                "subnet-id" => [s.SubnetId],
                "vpc-id" => [s.VpcId],
                "availability-zone" => [s.AvailabilityZone],
                "availability-zone-id" => [s.AvailabilityZoneId],
                "default-for-az" => [s.DefaultForAz ? "true" : "false"],
                "cidr-block" => [s.CidrBlock],
                "state" => ["available"],
                "map-public-ip-on-launch" => [s.MapPublicIpOnLaunch ? "true" : "false"],
                _ => [],
            }, EmptyTags));

        var x = c.Response();
        x.Items("subnetSet", selected, s =>
        {
            x.Leaf("subnetId", s.SubnetId);
            x.Leaf("subnetArn", $"arn:aws:ec2:{c.Region.Name}:{_state.AccountId}:subnet/{s.SubnetId}");
            x.Leaf("state", "available");
            x.Leaf("ownerId", _state.AccountId);
            x.Leaf("vpcId", s.VpcId);
            x.Leaf("cidrBlock", s.CidrBlock);
            x.Leaf("availableIpAddressCount", AvailableAddresses(s.CidrBlock));
            x.Leaf("availabilityZone", s.AvailabilityZone);
            x.Leaf("availabilityZoneId", s.AvailabilityZoneId);
            x.Leaf("defaultForAz", s.DefaultForAz);
            x.Leaf("mapPublicIpOnLaunch", s.MapPublicIpOnLaunch);
            x.Leaf("assignIpv6AddressOnCreation", false);
        });
        return x.Finish();
    }

    private static readonly IReadOnlyDictionary<string, string> EmptyTags = new Dictionary<string, string>();

    private static int AvailableAddresses(string cidr) => (1 << (32 - int.Parse(cidr.Split('/')[1], CultureInfo.InvariantCulture))) - 5;

    private string DescribeVpcs(Ec2Call c)
    {
        var q = c.Query;
        var ids = q.List("VpcId");
        var filters = Filters.Parse(q, taggable: true, "vpc-id", "is-default", "cidr", "state", "owner-id");
        var missing = ids.Where(id => c.Region.Vpcs.All(v => v.VpcId != id)).ToList();
        if (missing.Count > 0) throw Ec2Error.NotFound("InvalidVpcID.NotFound", "vpc", missing);

        var selected = c.Region.Vpcs
            .Where(v => ids.Count == 0 || ids.Contains(v.VpcId))
            .Where(v => filters.Matches(f => f switch
            {
                "vpc-id" => [v.VpcId],
                "is-default" => [v.IsDefault ? "true" : "false"],
                "cidr" => [v.CidrBlock],
                "state" => ["available"],
                "owner-id" => [_state.AccountId],
                _ => [],
            }, EmptyTags));

        var x = c.Response();
        x.Items("vpcSet", selected, v =>
        {
            x.Leaf("vpcId", v.VpcId);
            x.Leaf("ownerId", _state.AccountId);
            x.Leaf("state", "available");
            x.Leaf("cidrBlock", v.CidrBlock);
            x.Leaf("dhcpOptionsId", Catalog.DerivedId("dopt", v.VpcId));
            x.Leaf("instanceTenancy", "default");
            x.Leaf("isDefault", v.IsDefault);
        });
        return x.Finish();
    }

    /// <summary>
    /// Owner.N accepts account ids, "self" and "amazon"; with no ImageId/Owner every image is
    /// visible (the catalog's are public, registered ones belong to the caller). Name filters take
    /// wildcards, which is how callers find the newest Ubuntu build; tag filters find registered AMIs.
    /// </summary>
    private string DescribeImages(Ec2Call c)
    {
        var q = c.Query;
        var ids = q.List("ImageId");
        var owners = q.List("Owner");
        var filters = Filters.Parse(q, taggable: true,
            "name", "architecture", "image-id", "owner-id", "state", "root-device-type", "virtualization-type", "is-public", "image-type",
            "block-device-mapping.snapshot-id", "boot-mode");
        foreach (var id in ids) RequireWellFormed(id, "ami", "InvalidAMIID.Malformed");
        var images = _state.ImagesIn(c.Region).ToList();
        var missing = ids.Where(id => images.All(i => i.ImageId != id)).ToList();
        if (missing.Count > 0)
            throw new Ec2Error("InvalidAMIID.NotFound", $"The image id '[{string.Join(", ", missing)}]' does not exist");

        var ownerIds = owners.Select(o => o switch
        {
            "self" => _state.AccountId,
            "amazon" => "amazon",
            _ => o,
        }).ToList();

        var selected = images
            .Where(i => ids.Count == 0 || ids.Contains(i.ImageId))
            .Where(i => ownerIds.Count == 0 || ownerIds.Contains(i.OwnerId))
            .Where(i => filters.Matches(f => f switch
            {
                "name" => [i.Name],
                "architecture" => [i.Architecture],
                "image-id" => [i.ImageId],
                "owner-id" => [i.OwnerId],
                "state" => ["available"],
                "root-device-type" => ["ebs"],
                "virtualization-type" => ["hvm"],
                "is-public" => [i.IsPublic ? "true" : "false"],
                "image-type" => ["machine"],
                "block-device-mapping.snapshot-id" => [RootSnapshotOf(i)],
                "boot-mode" => [BootModeOf(i)],
                _ => [],
            }, i.Tags))
            .OrderBy(i => i.CreationDate);

        var x = c.Response();
        x.Items("imagesSet", selected, i =>
        {
            x.Leaf("imageId", i.ImageId);
            x.Leaf("imageLocation", $"{i.OwnerId}/{i.Name}");
            x.Leaf("imageState", "available");
            x.Leaf("imageOwnerId", i.OwnerId);
            x.Leaf("creationDate", i.CreationDate);
            x.Leaf("isPublic", i.IsPublic);
            x.Leaf("architecture", i.Architecture);
            x.Leaf("imageType", "machine");
            x.Leaf("name", i.Name);
            x.Leaf("description", i.Description);
            x.Leaf("rootDeviceType", "ebs");
            x.Leaf("rootDeviceName", i.RootDeviceName);
            x.Items("blockDeviceMapping", new[] { i }, b =>
            {
                x.Leaf("deviceName", b.RootDeviceName);
                using (x.Open("ebs"))
                {
                    x.Leaf("snapshotId", RootSnapshotOf(b));
                    x.Leaf("volumeSize", b.RootVolumeSizeGiB);
                    x.Leaf("deleteOnTermination", b.DeleteOnTermination);
                    x.Leaf("volumeType", b.RootVolumeType);
                    x.Leaf("encrypted", false);
                }
            });
            x.TagSet(i.Tags);
            x.Leaf("virtualizationType", "hvm");
            x.Leaf("hypervisor", "xen");
            x.Leaf("enaSupport", i.EnaSupport ?? (i.OwnerId == Catalog.CanonicalOwnerId ? true : null));
            x.Leaf("sriovNetSupport", i.OwnerId == Catalog.CanonicalOwnerId ? "simple" : null);
            x.Leaf("bootMode", BootModeOf(i));
            x.Leaf("imdsSupport", i.ImdsSupport);
            x.Leaf("platformDetails", "Linux/UNIX");
            x.Leaf("usageOperation", "RunInstances");
            if (i.OwnerId == Catalog.CanonicalOwnerId) x.Leaf("deprecationTime", i.CreationDate.AddYears(2));
        });
        return x.Finish();
    }

    private static string RootSnapshotOf(EmulatedImage i) => i.RootSnapshotId ?? Catalog.DerivedId("snap", i.ImageId);

    private static string? BootModeOf(EmulatedImage i) =>
        i.OwnerId == Catalog.CanonicalOwnerId ? (i.Architecture == "arm64" ? "uefi" : "uefi-preferred") : i.BootMode;

    private string DescribeSpotPriceHistory(Ec2Call c)
    {
        var q = c.Query;
        var types = q.List("InstanceType");
        var products = q.List("ProductDescription");
        var zone = q.Get("AvailabilityZone");
        var filters = Filters.Parse(q, taggable: false, "instance-type", "availability-zone", "product-description", "spot-price");
        var now = _state.Now;

        var rows = Catalog.InstanceTypes
            .Where(t => types.Count == 0 || types.Contains(t.InstanceType))
            .SelectMany(t => c.Region.Zones.Where(z => _state.Offerings.Contains((t.InstanceType, z))).Select(z => (Type: t, Zone: z)))
            .Where(r => zone is null || r.Zone == zone)
            .Where(_ => products.Count == 0 || products.Contains("Linux/UNIX") || products.Contains("Linux/UNIX (Amazon VPC)"))
            .Select(r => (r.Type, r.Zone, Price: Ec2State.FormatPrice(_state.SpotPrice(r.Type, r.Zone))))
            .Where(r => filters.Matches(f => f switch
            {
                "instance-type" => [r.Type.InstanceType],
                "availability-zone" => [r.Zone],
                "product-description" => ["Linux/UNIX"],
                "spot-price" => [r.Price],
                _ => [],
            }));

        var x = c.Response();
        x.Items("spotPriceHistorySet", rows, r =>
        {
            x.Leaf("instanceType", r.Type.InstanceType);
            x.Leaf("productDescription", "Linux/UNIX");
            x.Leaf("spotPrice", r.Price);
            x.Leaf("timestamp", now);
            x.Leaf("availabilityZone", r.Zone);
        });
        return x.Finish(); // no nextToken: an empty one would make a paginating caller loop
    }
}
