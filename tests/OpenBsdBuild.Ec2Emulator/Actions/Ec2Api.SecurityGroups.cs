using System.Globalization;
using System.Net;
using OpenBsdBuild.Emulation.Model;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Actions;

// CreateSecurityGroup, AuthorizeSecurityGroupIngress, DeleteSecurityGroup, DescribeSecurityGroups.
internal sealed partial class Ec2Api
{
    private string CreateSecurityGroup(Ec2Call c)
    {
        var q = c.Query;
        var name = q.Required("GroupName");
        var description = q.Required("GroupDescription");
        if (name.StartsWith("sg-", StringComparison.OrdinalIgnoreCase))
            throw Ec2Error.InvalidParameterValue("Group names may not be in the format sg-*.");
        if (name.Length > 255) throw Ec2Error.InvalidParameterValue("Group name exceeds 255 characters");

        var vpcId = q.Get("VpcId") ?? c.Region.DefaultVpc.VpcId;
        if (c.Region.Vpcs.All(v => v.VpcId != vpcId))
            throw new Ec2Error("InvalidVpcID.NotFound", $"The vpc ID '{vpcId}' does not exist");
        if (_state.SecurityGroups.Values.Any(g => g.Region == c.Region.Name && g.VpcId == vpcId && g.Name == name))
            throw new Ec2Error("InvalidGroup.Duplicate", $"The security group '{name}' already exists for VPC '{vpcId}'");

        var tags = TagSpecifications(q, "security-group");
        var group = new SecurityGroupRecord
        {
            Id = _state.NewId("sg"),
            Region = c.Region.Name,
            Name = name,
            Description = description,
            VpcId = vpcId,
        };
        // New VPC groups allow all egress and no ingress.
        group.Rules.Add(new EmulatedSecurityGroupRule(_state.NewId("sgr"), true, "-1", null, null, "0.0.0.0/0", null, null, null));
        if (tags.TryGetValue("security-group", out var groupTags))
            foreach (var t in groupTags) group.Tags[t.Key] = t.Value;
        _state.SecurityGroups[group.Id] = group;

        var x = c.Response();
        x.Leaf("return", true);
        x.Leaf("groupId", group.Id);
        x.Leaf("securityGroupArn", GroupArn(c, group));
        x.TagSet(group.Tags);
        return x.Finish();
    }

    private string GroupArn(Ec2Call c, SecurityGroupRecord g) =>
        $"arn:aws:ec2:{c.Region.Name}:{_state.AccountId}:security-group/{g.Id}";

    /// <summary>
    /// IpPermissions.N.{IpProtocol,FromPort,ToPort,IpRanges.M.CidrIp,Ipv6Ranges.M.CidrIpv6,Groups.M.GroupId}.
    /// Each CIDR or group becomes one rule, as EC2 reports them in securityGroupRuleSet.
    /// </summary>
    private string AuthorizeSecurityGroupIngress(Ec2Call c)
    {
        var q = c.Query;
        var group = q.Get("GroupId") is { } id
            ? FindGroup(c, id)
            : q.Get("GroupName") is { } name
                ? _state.SecurityGroups.Values.FirstOrDefault(g => g.Region == c.Region.Name && g.VpcId == c.Region.DefaultVpc.VpcId && g.Name == name)
                  ?? throw new Ec2Error("InvalidGroup.NotFound", $"The security group '{name}' does not exist in default VPC '{c.Region.DefaultVpc.VpcId}'")
                : throw Ec2Error.MissingParameter("GroupId");

        var added = new List<EmulatedSecurityGroupRule>();
        foreach (var p in q.StructList("IpPermissions"))
        {
            var protocol = NormalizeProtocol(p.Get("IpProtocol") ?? throw Ec2Error.MissingParameter("IpPermissions.IpProtocol"));
            int? from = p.GetInt("FromPort"), to = p.GetInt("ToPort");
            if (protocol is "tcp" or "udp" && (from is null || to is null))
                throw new Ec2Error("InvalidParameterValue", $"Invalid value for portRange. Must specify both from and to ports with TCP/UDP.");
            if (protocol == "-1") (from, to) = (null, null);

            foreach (var r in p.StructList("IpRanges"))
                added.Add(new EmulatedSecurityGroupRule(_state.NewId("sgr"), false, protocol, from, to,
                    ValidateCidr(r.Get("CidrIp"), ipv6: false), null, null, r.Get("Description")));
            foreach (var r in p.StructList("Ipv6Ranges"))
                added.Add(new EmulatedSecurityGroupRule(_state.NewId("sgr"), false, protocol, from, to,
                    null, ValidateCidr(r.Get("CidrIpv6"), ipv6: true), null, r.Get("Description")));
            foreach (var r in p.StructList("Groups"))
            {
                var source = FindGroup(c, r.Get("GroupId") ?? throw Ec2Error.MissingParameter("IpPermissions.Groups.GroupId"));
                added.Add(new EmulatedSecurityGroupRule(_state.NewId("sgr"), false, protocol, from, to, null, null, source.Id, r.Get("Description")));
            }
        }
        if (added.Count == 0) throw Ec2Error.MissingParameter("IpPermissions");

        foreach (var rule in added)
        {
            if (group.Rules.Any(existing => SameRule(existing, rule)))
                throw new Ec2Error("InvalidPermission.Duplicate",
                    $"the specified rule \"peer: {rule.CidrIpv4 ?? rule.CidrIpv6 ?? rule.ReferencedGroupId}, {rule.IpProtocol.ToUpperInvariant()}, " +
                    $"from port: {rule.FromPort}, to port: {rule.ToPort}, ALLOW\" already exists");
        }
        group.Rules.AddRange(added);

        var x = c.Response();
        x.Leaf("return", true);
        x.Items("securityGroupRuleSet", added, r => WriteRule(x, group, r));
        return x.Finish();
    }

    private static bool SameRule(EmulatedSecurityGroupRule a, EmulatedSecurityGroupRule b) =>
        a.IsEgress == b.IsEgress && a.IpProtocol == b.IpProtocol && a.FromPort == b.FromPort && a.ToPort == b.ToPort
        && a.CidrIpv4 == b.CidrIpv4 && a.CidrIpv6 == b.CidrIpv6 && a.ReferencedGroupId == b.ReferencedGroupId;

    private static string NormalizeProtocol(string protocol) => protocol.ToLowerInvariant() switch
    {
        "6" or "tcp" => "tcp",
        "17" or "udp" => "udp",
        "1" or "icmp" => "icmp",
        "-1" or "all" => "-1",
        var other => throw Ec2Error.InvalidParameterValue($"Invalid value '{other}' for IP protocol. Unknown protocol."),
    };

    private static string ValidateCidr(string? cidr, bool ipv6)
    {
        var parts = cidr?.Split('/');
        var ok = parts is { Length: 2 }
                 && IPAddress.TryParse(parts[0], out var address)
                 && (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6) == ipv6
                 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var prefix)
                 && prefix <= (ipv6 ? 128 : 32);
        return ok
            ? cidr!
            : throw Ec2Error.InvalidParameterValue($"CIDR block {cidr} is malformed");
    }

    private void WriteRule(Ec2Xml x, SecurityGroupRecord group, EmulatedSecurityGroupRule r)
    {
        x.Leaf("securityGroupRuleId", r.RuleId);
        x.Leaf("groupId", group.Id);
        x.Leaf("groupOwnerId", _state.AccountId);
        x.Leaf("isEgress", r.IsEgress);
        x.Leaf("ipProtocol", r.IpProtocol);
        x.Leaf("fromPort", r.FromPort ?? -1);
        x.Leaf("toPort", r.ToPort ?? -1);
        x.Leaf("cidrIpv4", r.CidrIpv4);
        x.Leaf("cidrIpv6", r.CidrIpv6);
        if (r.ReferencedGroupId is not null)
        {
            using (x.Open("referencedGroupInfo"))
            {
                x.Leaf("groupId", r.ReferencedGroupId);
                x.Leaf("userId", _state.AccountId);
            }
        }
        x.Leaf("description", r.Description);
    }

    private string DeleteSecurityGroup(Ec2Call c)
    {
        var q = c.Query;
        var group = q.Get("GroupId") is { } id
            ? FindGroup(c, id)
            : q.Get("GroupName") is { } name
                ? _state.SecurityGroups.Values.FirstOrDefault(g => g.Region == c.Region.Name && g.VpcId == c.Region.DefaultVpc.VpcId && g.Name == name)
                  ?? throw new Ec2Error("InvalidGroup.NotFound", $"The security group '{name}' does not exist in default VPC '{c.Region.DefaultVpc.VpcId}'")
                : throw Ec2Error.MissingParameter("GroupId");

        if (group.Name == "default")
            throw new Ec2Error("CannotDelete", $"the specified group: \"{group.Id}\" name: \"default\" cannot be deleted by a user");

        // An instance holds its groups through its network interface until it is fully terminated.
        var user = _state.Instances.Values.FirstOrDefault(i => !i.IsGone && i.SecurityGroupIds.Contains(group.Id));
        var referrer = _state.SecurityGroups.Values.FirstOrDefault(g => g != group && g.Rules.Any(r => r.ReferencedGroupId == group.Id));
        if (user is not null || referrer is not null)
            throw new Ec2Error("DependencyViolation", $"resource {group.Id} has a dependent object");

        _state.SecurityGroups.Remove(group.Id);
        var x = c.Response();
        x.Leaf("return", true);
        x.Leaf("groupId", group.Id);
        return x.Finish();
    }

    private string DescribeSecurityGroups(Ec2Call c)
    {
        var q = c.Query;
        var ids = q.List("GroupId");
        var names = q.List("GroupName");
        var filters = Filters.Parse(q, taggable: true, "group-id", "group-name", "vpc-id", "description", "owner-id");

        foreach (var id in ids)
        {
            RequireWellFormed(id, "sg", "InvalidGroupId.Malformed");
            if (!_state.SecurityGroups.TryGetValue(id, out var g) || g.Region != c.Region.Name)
                throw new Ec2Error("InvalidGroup.NotFound", $"The security group '{id}' does not exist");
        }
        foreach (var name in names)
        {
            // Names alone only address the default VPC, as on EC2.
            if (!_state.SecurityGroups.Values.Any(g => g.Region == c.Region.Name && g.VpcId == c.Region.DefaultVpc.VpcId && g.Name == name))
                throw new Ec2Error("InvalidGroup.NotFound", $"The security group '{name}' does not exist in default VPC '{c.Region.DefaultVpc.VpcId}'");
        }

        var selected = _state.SecurityGroups.Values
            .Where(g => g.Region == c.Region.Name)
            .Where(g => ids.Count == 0 || ids.Contains(g.Id))
            .Where(g => names.Count == 0 || (names.Contains(g.Name) && g.VpcId == c.Region.DefaultVpc.VpcId))
            .Where(g => filters.Matches(f => f switch
            {
                "group-id" => [g.Id],
                "group-name" => [g.Name],
                "vpc-id" => [g.VpcId],
                "description" => [g.Description],
                "owner-id" => [_state.AccountId],
                _ => [],
            }, g.Tags))
            .ToList();

        var x = c.Response();
        x.Items("securityGroupInfo", selected, g =>
        {
            x.Leaf("ownerId", _state.AccountId);
            x.Leaf("groupId", g.Id);
            x.Leaf("groupName", g.Name);
            x.Leaf("groupDescription", g.Description);
            x.Leaf("vpcId", g.VpcId);
            WritePermissions(x, "ipPermissions", g.Rules.Where(r => !r.IsEgress));
            WritePermissions(x, "ipPermissionsEgress", g.Rules.Where(r => r.IsEgress));
            x.TagSet(g.Tags);
            x.Leaf("securityGroupArn", GroupArn(c, g));
        });
        return x.Finish();
    }

    /// <summary>The older IpPermission shape: rules grouped by protocol and port range.</summary>
    private void WritePermissions(Ec2Xml x, string element, IEnumerable<EmulatedSecurityGroupRule> rules)
    {
        x.Items(element, rules.GroupBy(r => (r.IpProtocol, r.FromPort, r.ToPort)), p =>
        {
            x.Leaf("ipProtocol", p.Key.IpProtocol);
            x.Leaf("fromPort", p.Key.FromPort);
            x.Leaf("toPort", p.Key.ToPort);
            x.Items("groups", p.Where(r => r.ReferencedGroupId is not null), r =>
            {
                x.Leaf("groupId", r.ReferencedGroupId);
                x.Leaf("userId", _state.AccountId);
                x.Leaf("description", r.Description);
            });
            x.Items("ipRanges", p.Where(r => r.CidrIpv4 is not null), r =>
            {
                x.Leaf("cidrIp", r.CidrIpv4);
                x.Leaf("description", r.Description);
            });
            x.Items("ipv6Ranges", p.Where(r => r.CidrIpv6 is not null), r =>
            {
                x.Leaf("cidrIpv6", r.CidrIpv6);
                x.Leaf("description", r.Description);
            });
            x.Items("prefixListIds", Array.Empty<string>(), _ => { });
        });
    }
}
