namespace OpenBsdBuild.Emulation.Model;

// VM Import/Export and EBS snapshot resources, only touched under Ec2State.Gate.

/// <summary>One ImportSnapshot task: an S3 object on its way to becoming an EBS snapshot.</summary>
internal sealed class ImportTaskRecord
{
    public required string Id { get; init; }
    public required string Region { get; init; }
    public string? Description { get; init; }
    public required string Format { get; init; }
    public required string Bucket { get; init; }
    public required string Key { get; init; }
    public required string RoleName { get; init; }
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>How long this task takes from pending to completed (the emulator's ImportDelay when it started).</summary>
    public required TimeSpan Duration { get; init; }

    /// <summary>The object's size in bytes when the import read it.</summary>
    public required long DiskImageSize { get; init; }

    /// <summary>A ClientError the test scripted for this task: it ends "deleted" with this message halfway through.</summary>
    public string? ScriptedFailure { get; init; }

    public string Status { get; set; } = ImportTaskStatus.Active;
    public string? StatusMessage { get; set; } = "pending";
    public int? Progress { get; set; } = 3;
    public string? SnapshotId { get; set; }
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    public bool IsFinished => Status is ImportTaskStatus.Completed or ImportTaskStatus.Deleted;

    public EmulatedImportTask ToSnapshot() => new()
    {
        ImportTaskId = Id,
        Region = Region,
        Description = Description,
        Format = Format,
        S3Bucket = Bucket,
        S3Key = Key,
        RoleName = RoleName,
        Status = Status,
        StatusMessage = StatusMessage,
        Progress = Progress,
        SnapshotId = SnapshotId,
        DiskImageSize = DiskImageSize,
        StartedAt = StartedAt,
        Tags = new Dictionary<string, string>(Tags),
    };
}

/// <summary>The task states DescribeImportSnapshotTasks reports (SnapshotTaskDetail.Status).</summary>
internal static class ImportTaskStatus
{
    public const string Active = "active";
    public const string Completed = "completed";
    public const string Deleting = "deleting";
    public const string Deleted = "deleted";
}

internal sealed class SnapshotRecord
{
    public required string Id { get; init; }
    public required string Region { get; init; }
    public required int VolumeSizeGiB { get; init; }
    public required string Description { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    public string? ImportTaskId { get; init; }

    /// <summary>The disk's bytes as the import read them (a file of the emulator's own), or null.</summary>
    public string? DiskPath { get; init; }

    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    public EmulatedSnapshot ToSnapshot() => new()
    {
        SnapshotId = Id,
        DiskPath = DiskPath,
        Region = Region,
        VolumeSizeGiB = VolumeSizeGiB,
        Description = Description,
        StartTime = StartTime,
        ImportTaskId = ImportTaskId,
        Tags = new Dictionary<string, string>(Tags),
    };
}

/// <summary>An AMI made with RegisterImage from an EBS snapshot.</summary>
internal sealed class RegisteredImageRecord
{
    public required string Id { get; init; }
    public required string Region { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required string OwnerId { get; init; }
    public required string Architecture { get; init; }
    public required DateTimeOffset CreationDate { get; init; }
    public required string RootDeviceName { get; init; }
    public required string RootSnapshotId { get; init; }
    public required int RootVolumeSizeGiB { get; init; }
    public required string RootVolumeType { get; init; }
    public required bool DeleteOnTermination { get; init; }
    public string? BootMode { get; init; }
    public bool? EnaSupport { get; init; }
    public string? ImdsSupport { get; init; }
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal);

    public EmulatedImage ToSnapshot() => new(Id, Region, Name, OwnerId, Architecture, CreationDate, RootDeviceName, RootVolumeSizeGiB,
        RootVolumeType, Description)
    {
        BootMode = BootMode,
        EnaSupport = EnaSupport,
        ImdsSupport = ImdsSupport,
        RootSnapshotId = RootSnapshotId,
        DeleteOnTermination = DeleteOnTermination,
        IsPublic = false,
        Tags = new Dictionary<string, string>(Tags),
    };
}
