using OpenBsdBuild.Emulation.Model;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Actions;

/// <summary>One EC2 API call as the handlers see it.</summary>
internal sealed record Ec2Call(string Action, QueryParameters Query, RegionState Region, string RequestId)
{
    public Ec2Xml Response() => new(Action, RequestId);
}

/// <summary>
/// The EC2 actions, one partial file per resource family. <see cref="Handle"/> runs a handler
/// under the state lock after applying due state transitions, so each call sees a consistent
/// world and is atomic with respect to the others.
/// </summary>
internal sealed partial class Ec2Api
{
    private readonly Ec2State _state;
    private readonly Dictionary<string, Func<Ec2Call, string>> _actions;

    public Ec2Api(Ec2State state)
    {
        _state = state;
        _actions = new(StringComparer.Ordinal)
        {
            ["RunInstances"] = RunInstances,
            ["DescribeInstances"] = DescribeInstances,
            ["TerminateInstances"] = TerminateInstances,
            ["GetConsoleOutput"] = GetConsoleOutput,
            ["CreateSecurityGroup"] = CreateSecurityGroup,
            ["AuthorizeSecurityGroupIngress"] = AuthorizeSecurityGroupIngress,
            ["DeleteSecurityGroup"] = DeleteSecurityGroup,
            ["DescribeSecurityGroups"] = DescribeSecurityGroups,
            ["ImportKeyPair"] = ImportKeyPair,
            ["DeleteKeyPair"] = DeleteKeyPair,
            ["DescribeKeyPairs"] = DescribeKeyPairs,
            ["CreateTags"] = CreateTags,
            ["DeleteTags"] = DeleteTags,
            ["DescribeAvailabilityZones"] = DescribeAvailabilityZones,
            ["DescribeInstanceTypeOfferings"] = DescribeInstanceTypeOfferings,
            ["DescribeInstanceTypes"] = DescribeInstanceTypes,
            ["DescribeSubnets"] = DescribeSubnets,
            ["DescribeVpcs"] = DescribeVpcs,
            ["DescribeImages"] = DescribeImages,
            ["DescribeVolumes"] = DescribeVolumes,
            ["DescribeSpotPriceHistory"] = DescribeSpotPriceHistory,
            ["ImportSnapshot"] = ImportSnapshot,
            ["DescribeImportSnapshotTasks"] = DescribeImportSnapshotTasks,
            ["CancelImportTask"] = CancelImportTask,
            ["RegisterImage"] = RegisterImage,
            ["DeregisterImage"] = DeregisterImage,
            ["DescribeSnapshots"] = DescribeSnapshots,
            ["DeleteSnapshot"] = DeleteSnapshot,
        };
    }

    public bool Knows(string action) => _actions.ContainsKey(action);

    public string Handle(Ec2Call call)
    {
        lock (_state.Gate)
        {
            _state.Advance();
            return _actions[call.Action](call);
        }
    }

    // ---- helpers shared by several actions ---------------------------------------------------

    /// <summary>
    /// TagSpecification.N.ResourceType / .Tag.M.Key / .Tag.M.Value, grouped by resource type.
    /// Only the types the action can tag are accepted, as EC2 does.
    /// </summary>
    private static Dictionary<string, Dictionary<string, string>> TagSpecifications(QueryParameters q, params string[] taggable)
    {
        var result = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var spec in q.StructList("TagSpecification"))
        {
            var type = spec.Get("ResourceType")
                       ?? throw Ec2Error.InvalidParameterValue("Tag specifications must have a resource type.");
            if (!taggable.Contains(type))
                throw Ec2Error.InvalidParameterValue($"'{type}' is not a valid taggable resource type for this operation.");
            if (result.ContainsKey(type))
                throw Ec2Error.InvalidParameterValue($"The same resource type may not be specified more than once in tag specifications: {type}");
            result[type] = ParseTags(spec, "Tag");
        }
        return result;
    }

    /// <summary>Tag.N.Key / Tag.N.Value (value may be absent, meaning empty).</summary>
    private static Dictionary<string, string> ParseTags(QueryParameters q, string prefix)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var t in q.StructList(prefix))
        {
            var key = t.Get("Key");
            if (string.IsNullOrEmpty(key)) throw Ec2Error.InvalidParameterValue("Tag key cannot be empty");
            if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
                throw Ec2Error.InvalidParameterValue($"Tag keys starting with 'aws:' are reserved for internal use");
            if (key.Length > 128) throw Ec2Error.InvalidParameterValue($"Tag key exceeds the maximum length of 128 characters");
            var value = t.Get("Value") ?? "";
            if (value.Length > 256) throw Ec2Error.InvalidParameterValue($"Tag value exceeds the maximum length of 256 characters");
            tags[key] = value;
        }
        if (tags.Count > 50) throw new Ec2Error("TagLimitExceeded", "The maximum number of tags per resource is 50");
        return tags;
    }

    /// <summary>EC2 ids are prefix-hex; anything else is "Malformed", not "NotFound".</summary>
    private static void RequireWellFormed(string id, string prefix, string malformedCode)
    {
        var ok = id.StartsWith(prefix + "-", StringComparison.Ordinal)
                 && id.Length > prefix.Length + 1
                 && id[(prefix.Length + 1)..].All(Uri.IsHexDigit);
        if (!ok) throw new Ec2Error(malformedCode, $"Invalid id: \"{id}\"");
    }

    private InstanceRecord FindInstance(Ec2Call c, string id)
    {
        RequireWellFormed(id, "i", "InvalidInstanceID.Malformed");
        return _state.Instances.TryGetValue(id, out var i) && i.Region == c.Region.Name
            ? i
            : throw Ec2Error.NotFound("InvalidInstanceID.NotFound", "instance", [id]);
    }

    private SecurityGroupRecord FindGroup(Ec2Call c, string id)
    {
        RequireWellFormed(id, "sg", "InvalidGroupId.Malformed");
        return _state.SecurityGroups.TryGetValue(id, out var g) && g.Region == c.Region.Name
            ? g
            : throw new Ec2Error("InvalidGroup.NotFound", $"The security group '{id}' does not exist");
    }

    private static void WriteStateItem(Ec2Xml x, string element, EmulatedInstanceState state)
    {
        using (x.Open(element))
        {
            x.Leaf("code", (int)state);
            x.Leaf("name", state.ToWire());
        }
    }

    /// <summary>The tag dictionary of any taggable resource id in this region, or null.</summary>
    private Dictionary<string, string>? TagsOf(Ec2Call c, string resourceId)
    {
        if (_state.Instances.TryGetValue(resourceId, out var i) && i.Region == c.Region.Name) return i.Tags;
        if (_state.SecurityGroups.TryGetValue(resourceId, out var g) && g.Region == c.Region.Name) return g.Tags;
        if (_state.KeyPairs.TryGetValue(resourceId, out var k) && k.Region == c.Region.Name) return k.Tags;
        if (_state.Volumes.TryGetValue(resourceId, out var v) && v.Region == c.Region.Name && v.State != "deleted") return v.Tags;
        if (_state.Imports.Snapshots.TryGetValue(resourceId, out var s) && s.Region == c.Region.Name) return s.Tags;
        if (_state.Imports.Images.TryGetValue(resourceId, out var a) && a.Region == c.Region.Name) return a.Tags;
        if (_state.Imports.Tasks.TryGetValue(resourceId, out var t) && t.Region == c.Region.Name) return t.Tags;
        return null;
    }
}
