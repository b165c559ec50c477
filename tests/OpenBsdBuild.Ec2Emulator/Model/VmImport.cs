using System.Net;

namespace OpenBsdBuild.Emulation.Model;

/// <summary>
/// VM Import/Export as ImportSnapshot sees it: the service roles that exist, the object store the
/// import reads from, and the tasks, snapshots and registered images. Tasks move on lazily in
/// <see cref="Advance"/>, like instances: pending, then downloading/converting (the object is read
/// again at every look, so deleting it mid-import fails the task), then completed with a snapshot.
/// </summary>
internal sealed class VmImport
{
    public const string DefaultRole = "vmimport";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly Ec2State _state;
    private readonly Queue<string> _scriptedFailures = new();

    public VmImport(Ec2State state, Ec2EmulatorOptions options)
    {
        _state = state;
        ObjectStore = options.ObjectStore;
        ImportDelay = options.ImportDelay;
    }

    /// <summary>The S3 endpoint imports read from (path-style, anonymous HEAD, as s3rver allows).</summary>
    public Uri? ObjectStore { get; set; }

    public TimeSpan ImportDelay { get; set; }

    /// <summary>Service roles that exist and let VM Import read the bucket; <see cref="DefaultRole"/> unless a test removes it.</summary>
    public HashSet<string> ServiceRoles { get; } = new(StringComparer.Ordinal) { DefaultRole };

    public Dictionary<string, ImportTaskRecord> Tasks { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, SnapshotRecord> Snapshots { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, RegisteredImageRecord> Images { get; } = new(StringComparer.Ordinal);

    /// <summary>The next import task ends "deleted" with this StatusMessage (a "ClientError: …" text).</summary>
    public void FailNextImport(string statusMessage) => _scriptedFailures.Enqueue(statusMessage);

    public string? TakeScriptedFailure() => _scriptedFailures.Count > 0 ? _scriptedFailures.Dequeue() : null;

    /// <summary>The object's size, or null when the store does not have it.</summary>
    public long? ObjectSize(string bucket, string key)
    {
        var store = ObjectStore ?? throw new InvalidOperationException(
            "ImportSnapshot needs Ec2EmulatorOptions.ObjectStore (the S3 endpoint the test uploads to) to read the disk image.");
        var url = new Uri(store, Uri.EscapeDataString(bucket) + "/" + string.Join('/', key.Split('/').Select(Uri.EscapeDataString)));
        using var request = new HttpRequestMessage(HttpMethod.Head, url);
        using var response = Http.Send(request);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden) return null;
        response.EnsureSuccessStatusCode();
        return response.Content.Headers.ContentLength ?? 0;
    }

    public void Advance(DateTimeOffset now)
    {
        foreach (var task in Tasks.Values)
        {
            if (task.Status == ImportTaskStatus.Deleting)
            {
                Fail(task, null);
                continue;
            }
            if (task.IsFinished) continue;

            double done = task.Duration <= TimeSpan.Zero ? 1 : (now - task.StartedAt) / task.Duration;
            if (ObjectSize(task.Bucket, task.Key) is null)
            {
                // The emulator's wording: the documented part is "deleted" with a "ClientError: " reason.
                Fail(task, $"ClientError: Unable to read the disk image s3://{task.Bucket}/{task.Key}: the object does not exist.");
                continue;
            }
            if (task.ScriptedFailure is { } message && done >= 0.5)
            {
                Fail(task, message);
                continue;
            }
            if (done >= 1)
            {
                Complete(task, now);
                continue;
            }
            if (done >= 0.2)
            {
                task.StatusMessage = "downloading/converting";
                task.Progress = 3 + (int)((done - 0.2) / 0.8 * 90);
            }
        }
    }

    private static void Fail(ImportTaskRecord task, string? statusMessage)
    {
        task.Status = ImportTaskStatus.Deleted;
        task.StatusMessage = statusMessage;
        task.Progress = null;
    }

    private void Complete(ImportTaskRecord task, DateTimeOffset now)
    {
        var snapshot = new SnapshotRecord
        {
            Id = _state.NewId("snap"),
            Region = task.Region,
            VolumeSizeGiB = (int)Math.Max(1, (task.DiskImageSize + (1L << 30) - 1) >> 30),
            Description = $"Created by AWS-VMImport service for {task.Id}",
            StartTime = now,
            ImportTaskId = task.Id,
        };
        Snapshots[snapshot.Id] = snapshot;
        task.Status = ImportTaskStatus.Completed;
        task.StatusMessage = null;
        task.Progress = null;
        task.SnapshotId = snapshot.Id;
    }
}
