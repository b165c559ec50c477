using System.Globalization;
using OpenBsdBuild.Emulation.Model;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Actions;

// ImportSnapshot, DescribeImportSnapshotTasks, CancelImportTask (VM Import/Export).
internal sealed partial class Ec2Api
{
    private static readonly string[] ImportFormats = ["VHD", "VMDK", "RAW"];

    private string ImportSnapshot(Ec2Call c)
    {
        var q = c.Query;
        var imports = _state.Imports;
        var disk = q.Struct("DiskContainer") ?? throw Ec2Error.MissingParameter("DiskContainer");
        if (disk.Has("Url"))
            throw new Ec2Error("InvalidParameter", "This emulator imports from S3 only (DiskContainer.UserBucket).");
        var bucket = disk.Required("UserBucket.S3Bucket");
        var key = disk.Required("UserBucket.S3Key");
        var format = disk.Required("Format").ToUpperInvariant();
        if (!ImportFormats.Contains(format))
            throw new Ec2Error("InvalidParameter", $"Unsupported disk format '{disk.Get("Format")}'. Valid values are: VHD, VMDK, RAW.");
        var tags = TagSpecifications(q, "import-snapshot-task");

        // The role is how VM Import reads the bucket, so it is checked first; then the object itself.
        var role = q.Get("RoleName") ?? VmImport.DefaultRole;
        if (!imports.ServiceRoles.Contains(role))
            throw new Ec2Error("InvalidParameter", $"The service role {role} provided does not exist or does not have sufficient permissions");
        var size = imports.ObjectSize(bucket, key)
                   ?? throw new Ec2Error("InvalidParameter", $"User does not have access to the S3 object ({bucket}/{key}).");

        var task = new ImportTaskRecord
        {
            Id = _state.NewId("import-snap"),
            Region = c.Region.Name,
            Description = q.Get("Description"),
            Format = format,
            Bucket = bucket,
            Key = key,
            RoleName = role,
            StartedAt = _state.Now,
            Duration = imports.ImportDelay,
            DiskImageSize = size,
            ScriptedFailure = imports.TakeScriptedFailure(),
        };
        foreach (var t in tags.GetValueOrDefault("import-snapshot-task") ?? []) task.Tags[t.Key] = t.Value;
        imports.Tasks[task.Id] = task;

        // The answer describes the task as it starts; the first progress shows on the next look.
        var x = c.Response();
        x.Leaf("description", task.Description);
        x.Leaf("importTaskId", task.Id);
        WriteSnapshotTaskDetail(x, task);
        x.TagSet(task.Tags);
        return x.Finish();
    }

    private string DescribeImportSnapshotTasks(Ec2Call c)
    {
        var q = c.Query;
        var ids = q.List("ImportTaskId");
        var filters = Filters.Parse(q, taggable: true, "task-state");
        var visible = _state.Imports.Tasks.Values.Where(t => t.Region == c.Region.Name).OrderBy(t => t.StartedAt).ToList();
        var missing = ids.Where(id => visible.All(t => t.Id != id)).ToList();
        if (missing.Count > 0)
            throw new Ec2Error("InvalidConversionTaskId.Malformed", $"The import task ID '{string.Join(", ", missing)}' is not valid.");

        var selected = visible
            .Where(t => ids.Count == 0 || ids.Contains(t.Id))
            .Where(t => filters.Matches(f => f switch
            {
                "task-state" => [t.Status],
                _ => [],
            }, t.Tags));

        var x = c.Response();
        x.Items("importSnapshotTaskSet", selected, t =>
        {
            x.Leaf("description", t.Description);
            x.Leaf("importTaskId", t.Id);
            WriteSnapshotTaskDetail(x, t);
            x.TagSet(t.Tags);
        });
        return x.Finish();
    }

    /// <summary>An active task goes to "deleting", then "deleted" on the next look; no snapshot is made.</summary>
    private string CancelImportTask(Ec2Call c)
    {
        var id = c.Query.Required("ImportTaskId");
        if (!_state.Imports.Tasks.TryGetValue(id, out var task) || task.Region != c.Region.Name)
            throw new Ec2Error("InvalidConversionTaskId.Malformed", $"The import task ID '{id}' is not valid.");
        if (task.IsFinished || task.Status == ImportTaskStatus.Deleting)
            throw new Ec2Error("IncorrectState", $"The import task '{id}' is in the {task.Status} state and cannot be cancelled.");
        var previous = task.Status;
        task.Status = ImportTaskStatus.Deleting;
        task.StatusMessage = null;
        task.Progress = null;

        var x = c.Response();
        x.Leaf("importTaskId", task.Id);
        x.Leaf("previousState", previous);
        x.Leaf("state", task.Status);
        return x.Finish();
    }

    private static void WriteSnapshotTaskDetail(Ec2Xml x, ImportTaskRecord t)
    {
        using (x.Open("snapshotTaskDetail"))
        {
            x.Leaf("description", t.Description);
            // Bytes, though the reference says GiB: the CLI examples show 705638400.0 for a 673 MiB disk.
            x.Leaf("diskImageSize", t.Status == ImportTaskStatus.Completed || t.Progress > 3
                ? ((double)t.DiskImageSize).ToString("0.0", CultureInfo.InvariantCulture)
                : "0.0");
            x.Leaf("encrypted", false);
            x.Leaf("format", t.Format);
            x.Leaf("progress", t.Progress?.ToString(CultureInfo.InvariantCulture));
            x.Leaf("snapshotId", t.SnapshotId);
            x.Leaf("status", t.Status);
            x.Leaf("statusMessage", t.StatusMessage);
            using (x.Open("userBucket"))
            {
                x.Leaf("s3Bucket", t.Bucket);
                x.Leaf("s3Key", t.Key);
            }
        }
    }
}
