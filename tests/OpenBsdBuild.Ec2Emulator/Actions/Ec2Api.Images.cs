using System.Text.RegularExpressions;
using OpenBsdBuild.Emulation.Model;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Actions;

// RegisterImage, DeregisterImage (AMIs from snapshots); DescribeSnapshots, DeleteSnapshot.
internal sealed partial class Ec2Api
{
    private static readonly string[] Architectures = ["i386", "x86_64", "arm64", "x86_64_mac", "arm64_mac"];
    private static readonly string[] BootModes = ["legacy-bios", "uefi", "uefi-preferred"];
    private static readonly Regex AmiName = new(@"^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$", RegexOptions.CultureInvariant);

    private string RegisterImage(Ec2Call c)
    {
        var q = c.Query;
        var imports = _state.Imports;
        var name = q.Required("Name");
        if (!AmiName.IsMatch(name))
            throw new Ec2Error("InvalidAMIName.Malformed",
                "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '.', '-', '/' and '_'");
        if (_state.ImagesIn(c.Region).FirstOrDefault(i => i.Name == name && i.OwnerId == _state.AccountId) is { } taken)
            throw new Ec2Error("InvalidAMIName.Duplicate", $"AMI name {name} is already in use by AMI {taken.ImageId}");

        // EC2's default architecture is i386, which is why callers must always say which one.
        var architecture = q.Get("Architecture") ?? "i386";
        if (!Architectures.Contains(architecture))
            throw Ec2Error.InvalidParameterValue($"Value ({architecture}) for parameter architecture is invalid. Valid values are: {string.Join(", ", Architectures)}");
        var bootMode = q.Get("BootMode");
        if (bootMode is not null && !BootModes.Contains(bootMode))
            throw Ec2Error.InvalidParameterValue($"Value ({bootMode}) for parameter bootMode is invalid. Valid values are: {string.Join(", ", BootModes)}");
        var imds = q.Get("ImdsSupport");
        if (imds is not null && imds != "v2.0")
            throw Ec2Error.InvalidParameterValue($"Value ({imds}) for parameter imdsSupport is invalid. Valid value is: v2.0");
        if (q.Has("ImageLocation"))
            throw new Ec2Error("InvalidParameter", "This emulator registers EBS-backed images from snapshots only.");

        var rootDevice = q.Required("RootDeviceName");
        var root = q.StructList("BlockDeviceMapping").FirstOrDefault(m => m.Get("DeviceName") == rootDevice)
                   ?? throw new Ec2Error("InvalidBlockDeviceMapping", $"The root device name '{rootDevice}' has no block device mapping.");
        var snapshotId = root.Required("Ebs.SnapshotId");
        var snapshot = FindSnapshot(c, snapshotId);
        var size = root.GetInt("Ebs.VolumeSize") ?? snapshot.VolumeSizeGiB;
        if (size < snapshot.VolumeSizeGiB)
            throw new Ec2Error("InvalidBlockDeviceMapping",
                $"Volume of size {size}GB is smaller than snapshot '{snapshotId}', expect size >= {snapshot.VolumeSizeGiB}GB");
        var volumeType = root.Get("Ebs.VolumeType") ?? "gp2";
        if (!VolumeTypes.Contains(volumeType))
            throw Ec2Error.InvalidParameterValue($"Value ({volumeType}) for parameter volumeType is invalid. Valid values are: {string.Join(", ", VolumeTypes)}");
        var tags = TagSpecifications(q, "image", "snapshot");

        var image = new RegisteredImageRecord
        {
            Id = _state.NewId("ami"),
            Region = c.Region.Name,
            Name = name,
            Description = q.Get("Description"),
            OwnerId = _state.AccountId,
            Architecture = architecture,
            CreationDate = _state.Now,
            RootDeviceName = rootDevice,
            RootSnapshotId = snapshotId,
            RootVolumeSizeGiB = size,
            RootVolumeType = volumeType,
            DeleteOnTermination = root.GetBool("Ebs.DeleteOnTermination") ?? true,
            BootMode = bootMode,
            EnaSupport = q.GetBool("EnaSupport"),
            ImdsSupport = imds,
        };
        foreach (var t in tags.GetValueOrDefault("image") ?? []) image.Tags[t.Key] = t.Value;
        foreach (var t in tags.GetValueOrDefault("snapshot") ?? []) snapshot.Tags[t.Key] = t.Value;
        imports.Images[image.Id] = image;

        var x = c.Response();
        x.Leaf("imageId", image.Id);
        return x.Finish();
    }

    /// <summary>The AMI goes; its snapshot stays (and is then free to delete), as on EC2.</summary>
    private string DeregisterImage(Ec2Call c)
    {
        var id = c.Query.Required("ImageId");
        RequireWellFormed(id, "ami", "InvalidAMIID.Malformed");
        if (!_state.Imports.Images.TryGetValue(id, out var image) || image.Region != c.Region.Name)
            throw new Ec2Error("InvalidAMIID.NotFound", $"The image id '[{id}]' does not exist");
        _state.Imports.Images.Remove(id);
        return ReturnTrue(c);
    }

    private string DeleteSnapshot(Ec2Call c)
    {
        var id = c.Query.Required("SnapshotId");
        var snapshot = FindSnapshot(c, id);
        if (_state.Imports.Images.Values.FirstOrDefault(i => i.RootSnapshotId == id) is { } user)
            throw new Ec2Error("InvalidSnapshot.InUse", $"The snapshot {id} is currently in use by {user.Id}");
        _state.Imports.Delete(snapshot);
        return ReturnTrue(c);
    }

    private string DescribeSnapshots(Ec2Call c)
    {
        var q = c.Query;
        var ids = q.List("SnapshotId");
        var owners = q.List("Owner");
        var filters = Filters.Parse(q, taggable: true, "snapshot-id", "description", "status", "volume-size", "owner-id");
        foreach (var id in ids) RequireWellFormed(id, "snap", "InvalidSnapshotID.Malformed");
        var visible = _state.Imports.Snapshots.Values.Where(s => s.Region == c.Region.Name).OrderBy(s => s.StartTime).ToList();
        var missing = ids.Where(id => visible.All(s => s.Id != id)).ToList();
        if (missing.Count > 0)
            throw new Ec2Error("InvalidSnapshot.NotFound", $"The snapshot '{string.Join(", ", missing)}' does not exist.");
        if (owners.Any(o => o != "self" && o != _state.AccountId)) visible.Clear(); // only this account's snapshots exist here

        var selected = visible
            .Where(s => ids.Count == 0 || ids.Contains(s.Id))
            .Where(s => filters.Matches(f => f switch
            {
                "snapshot-id" => [s.Id],
                "description" => [s.Description],
                "status" => ["completed"],
                "volume-size" => [s.VolumeSizeGiB.ToString(System.Globalization.CultureInfo.InvariantCulture)],
                "owner-id" => [_state.AccountId],
                _ => [],
            }, s.Tags));

        var x = c.Response();
        x.Items("snapshotSet", selected, s =>
        {
            x.Leaf("snapshotId", s.Id);
            x.Leaf("volumeId", "vol-ffffffff"); // imported snapshots come from no volume
            x.Leaf("status", "completed");
            x.Leaf("startTime", s.StartTime);
            x.Leaf("progress", "100%");
            x.Leaf("ownerId", _state.AccountId);
            x.Leaf("volumeSize", s.VolumeSizeGiB);
            x.Leaf("description", s.Description);
            x.Leaf("encrypted", false);
            x.Leaf("storageTier", "standard");
            x.TagSet(s.Tags);
        });
        return x.Finish();
    }

    private SnapshotRecord FindSnapshot(Ec2Call c, string id)
    {
        RequireWellFormed(id, "snap", "InvalidSnapshotID.Malformed");
        return _state.Imports.Snapshots.TryGetValue(id, out var s) && s.Region == c.Region.Name
            ? s
            : throw new Ec2Error("InvalidSnapshot.NotFound", $"The snapshot '{id}' does not exist.");
    }
}
