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
    private string? _dataDirectory;

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
        using var request = new HttpRequestMessage(HttpMethod.Head, ObjectUri(bucket, key));
        using var response = Http.Send(request);
        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden) return null;
        response.EnsureSuccessStatusCode();
        return response.Content.Headers.ContentLength ?? 0;
    }

    /// <summary>
    /// An EBS snapshot is a copy of what the import read, independent of the S3 object from then on: the
    /// object's bytes go to a raw file of the emulator's own, which an instance launched from an AMI of it boots.
    /// </summary>
    private string CopyObject(string bucket, string key, string snapshotId)
    {
        _dataDirectory ??= Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "obb-ec2-snapshots-" + Guid.NewGuid().ToString("N"))).FullName;
        string path = Path.Combine(_dataDirectory, snapshotId + ".raw");
        using var response = Http.Send(new HttpRequestMessage(HttpMethod.Get, ObjectUri(bucket, key)), HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        using var body = response.Content.ReadAsStream();
        using var file = File.Create(path);
        body.CopyTo(file);
        return path;
    }

    private Uri ObjectUri(string bucket, string key)
    {
        var store = ObjectStore ?? throw new InvalidOperationException(
            "ImportSnapshot needs Ec2EmulatorOptions.ObjectStore (the S3 endpoint the test uploads to) to read the disk image.");
        return new Uri(store, Uri.EscapeDataString(bucket) + "/" + string.Join('/', key.Split('/').Select(Uri.EscapeDataString)));
    }

    /// <summary>DeleteSnapshot: the snapshot and its data go.</summary>
    public void Delete(SnapshotRecord snapshot)
    {
        Snapshots.Remove(snapshot.Id);
        if (snapshot.DiskPath is { } path) File.Delete(path);
    }

    /// <summary>The emulator stops: every snapshot's data goes with it.</summary>
    public void DeleteData()
    {
        if (_dataDirectory is { } dir && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
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
        string id = _state.NewId("snap");
        var snapshot = new SnapshotRecord
        {
            Id = id,
            DiskPath = CopyObject(task.Bucket, task.Key, id),
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
