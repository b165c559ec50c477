namespace OpenBsdBuild.Emulation;

// The test-facing control surface of VM Import/Export: import timing and failures, the vmimport
// role, and what imports left behind (tasks, snapshots, registered AMIs).
public sealed partial class Ec2Emulator
{
    /// <summary>How long an ImportSnapshot task takes from pending to completed (applies to imports started after the change).</summary>
    public TimeSpan ImportDelay
    {
        get => Read(() => _state.Imports.ImportDelay);
        set => Write(() => _state.Imports.ImportDelay = value);
    }

    /// <summary>The S3 endpoint imports read disk images from (a test's s3rver).</summary>
    public Uri? ObjectStore
    {
        get => Read(() => _state.Imports.ObjectStore);
        set => Write(() => _state.Imports.ObjectStore = value);
    }

    /// <summary>
    /// Whether the service role VM Import uses (default "vmimport") exists with the permissions it needs.
    /// Without it ImportSnapshot fails with InvalidParameter, as on an account nobody set up for imports.
    /// </summary>
    public void SetServiceRole(string roleName, bool exists) => Write(() =>
    {
        if (exists) _state.Imports.ServiceRoles.Add(roleName);
        else _state.Imports.ServiceRoles.Remove(roleName);
    });

    /// <summary>The next import task ends "deleted" halfway through with this StatusMessage, e.g. "ClientError: Disk validation failed [Unsupported specified file format]".</summary>
    public void FailNextImport(string statusMessage) => Write(() => _state.Imports.FailNextImport(statusMessage));

    /// <summary>Every import task (all regions, every state), by task id.</summary>
    public IReadOnlyDictionary<string, EmulatedImportTask> ImportTasks =>
        Read(() => _state.Imports.Tasks.Values.ToDictionary(t => t.Id, t => t.ToSnapshot()));

    /// <summary>EBS snapshots that exist now (deleted ones are gone), by snapshot id.</summary>
    public IReadOnlyDictionary<string, EmulatedSnapshot> EbsSnapshots =>
        Read(() => _state.Imports.Snapshots.Values.ToDictionary(s => s.Id, s => s.ToSnapshot()));

    /// <summary>AMIs registered through RegisterImage that exist now, by image id.</summary>
    public IReadOnlyDictionary<string, EmulatedImage> RegisteredImages =>
        Read(() => _state.Imports.Images.Values.ToDictionary(i => i.Id, i => i.ToSnapshot()));

    /// <summary>
    /// The raw disk an instance boots: its root volume was made from a snapshot, and an imported snapshot holds
    /// what ImportSnapshot read from S3. Null for instances of catalog images (they have no disk here).
    /// </summary>
    public string? RootDiskOf(string instanceId) => Read(() =>
    {
        var instance = FindInstance(instanceId);
        var root = _state.Volumes.Values.FirstOrDefault(v => v.InstanceId == instance.Id && v.Device == instance.RootDeviceName);
        return root?.SnapshotId is { } snapshotId && _state.Imports.Snapshots.TryGetValue(snapshotId, out var snapshot) ? snapshot.DiskPath : null;
    });
}
