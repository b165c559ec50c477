using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Actions;

// CreateTags, DeleteTags, DescribeVolumes.
internal sealed partial class Ec2Api
{
    private string CreateTags(Ec2Call c)
    {
        var q = c.Query;
        var targets = ResolveTagTargets(c, q.List("ResourceId"));
        var tags = ParseTags(q, "Tag");
        if (tags.Count == 0) throw Ec2Error.MissingParameter("Tag");
        foreach (var target in targets)
        {
            foreach (var t in tags) target[t.Key] = t.Value;
            if (target.Count > 50) throw new Ec2Error("TagLimitExceeded", "The maximum number of tags per resource is 50");
        }
        return ReturnTrue(c);
    }

    /// <summary>Tag.N.Key alone deletes whatever the value; with Tag.N.Value only a matching value is deleted.</summary>
    private string DeleteTags(Ec2Call c)
    {
        var q = c.Query;
        var targets = ResolveTagTargets(c, q.List("ResourceId"));
        var specs = q.StructList("Tag");
        foreach (var target in targets)
        {
            if (specs.Count == 0) target.Clear(); // no Tag parameter: EC2 deletes all (non-aws:) tags
            foreach (var spec in specs)
            {
                var key = spec.Required("Key");
                if (!target.TryGetValue(key, out var current)) continue;
                if (spec.Get("Value") is { } value && value != current) continue;
                target.Remove(key);
            }
        }
        return ReturnTrue(c);
    }

    private List<Dictionary<string, string>> ResolveTagTargets(Ec2Call c, IReadOnlyList<string> ids)
    {
        if (ids.Count == 0) throw Ec2Error.MissingParameter("ResourceId");
        var targets = new List<Dictionary<string, string>>();
        foreach (var id in ids)
        {
            var tags = TagsOf(c, id) ?? throw NotFoundForTagging(id);
            targets.Add(tags);
        }
        return targets;
    }

    /// <summary>EC2 answers with the resource family's own not-found code.</summary>
    private static Ec2Error NotFoundForTagging(string id) => id.Split('-')[0] switch
    {
        "i" => Ec2Error.NotFound("InvalidInstanceID.NotFound", "instance", [id]),
        "sg" => new Ec2Error("InvalidGroup.NotFound", $"The security group '{id}' does not exist"),
        "vol" => new Ec2Error("InvalidVolume.NotFound", $"The volume '{id}' does not exist."),
        "key" => new Ec2Error("InvalidKeyPair.NotFound", $"The key pair '{id}' does not exist"),
        "snap" => new Ec2Error("InvalidSnapshot.NotFound", $"The snapshot '{id}' does not exist."),
        "ami" => new Ec2Error("InvalidAMIID.NotFound", $"The image id '[{id}]' does not exist"),
        _ => new Ec2Error("InvalidID", $"The ID '{id}' is not valid"),
    };

    private static string ReturnTrue(Ec2Call c)
    {
        var x = c.Response();
        x.Leaf("return", true);
        return x.Finish();
    }

    private string DescribeVolumes(Ec2Call c)
    {
        var q = c.Query;
        var ids = q.List("VolumeId");
        var filters = Filters.Parse(q, taggable: true,
            "volume-id", "attachment.instance-id", "attachment.device", "attachment.delete-on-termination", "attachment.status",
            "availability-zone", "status", "size", "volume-type", "encrypted");

        // Deleted volumes are kept internally for tests but are gone from the API's point of view.
        var visible = _state.Volumes.Values.Where(v => v.Region == c.Region.Name && v.State != "deleted").OrderBy(v => v.CreateTime).ToList();
        var missing = ids.Where(id => visible.All(v => v.Id != id)).ToList();
        if (missing.Count > 0)
            throw new Ec2Error("InvalidVolume.NotFound", $"The volume '{string.Join(", ", missing)}' does not exist.");

        var selected = visible
            .Where(v => ids.Count == 0 || ids.Contains(v.Id))
            .Where(v => filters.Matches(f => f switch
            {
                "volume-id" => [v.Id],
                "attachment.instance-id" => [v.InstanceId],
                "attachment.device" => [v.Device],
                "attachment.delete-on-termination" => [v.InstanceId is null ? null : v.DeleteOnTermination ? "true" : "false"],
                "attachment.status" => [v.InstanceId is null ? null : "attached"],
                "availability-zone" => [v.AvailabilityZone],
                "status" => [v.State],
                "size" => [v.Size.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                "volume-type" => [v.VolumeType],
                "encrypted" => [v.Encrypted ? "true" : "false"],
                _ => [],
            }, v.Tags));

        var x = c.Response();
        x.Items("volumeSet", selected, v =>
        {
            x.Leaf("volumeId", v.Id);
            x.Leaf("size", v.Size);
            x.Leaf("snapshotId", v.SnapshotId ?? "");
            x.Leaf("availabilityZone", v.AvailabilityZone);
            x.Leaf("status", v.State);
            x.Leaf("createTime", v.CreateTime);
            x.Items("attachmentSet", v.InstanceId is null ? [] : new[] { v }, a =>
            {
                x.Leaf("volumeId", a.Id);
                x.Leaf("instanceId", a.InstanceId);
                x.Leaf("device", a.Device);
                x.Leaf("status", "attached");
                x.Leaf("attachTime", a.AttachTime);
                x.Leaf("deleteOnTermination", a.DeleteOnTermination);
            });
            x.TagSet(v.Tags);
            x.Leaf("volumeType", v.VolumeType);
            x.Leaf("iops", v.Iops);
            x.Leaf("throughput", v.Throughput);
            x.Leaf("encrypted", v.Encrypted);
            x.Leaf("multiAttachEnabled", false);
        });
        return x.Finish();
    }
}
