namespace OpenBsdBuild.Emulation;

/// <summary>An ImportSnapshot task as DescribeImportSnapshotTasks would show it now.</summary>
public sealed record EmulatedImportTask
{
    public required string ImportTaskId { get; init; }
    public required string Region { get; init; }
    public string? Description { get; init; }
    public required string Format { get; init; }
    public required string S3Bucket { get; init; }
    public required string S3Key { get; init; }
    public required string RoleName { get; init; }

    /// <summary>active, completed, deleting or deleted.</summary>
    public required string Status { get; init; }

    public string? StatusMessage { get; init; }
    public int? Progress { get; init; }
    public string? SnapshotId { get; init; }
    public required long DiskImageSize { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public required IReadOnlyDictionary<string, string> Tags { get; init; }
}

/// <summary>An EBS snapshot (made by an import); deleted ones are gone from this list.</summary>
public sealed record EmulatedSnapshot
{
    public required string SnapshotId { get; init; }
    public required string Region { get; init; }
    public required int VolumeSizeGiB { get; init; }
    public required string Description { get; init; }
    public required DateTimeOffset StartTime { get; init; }
    public string? ImportTaskId { get; init; }

    /// <summary>A raw disk file holding what the import read: a copy, so the staged object may go (as on EC2).</summary>
    public string? DiskPath { get; init; }

    public required IReadOnlyDictionary<string, string> Tags { get; init; }
}
