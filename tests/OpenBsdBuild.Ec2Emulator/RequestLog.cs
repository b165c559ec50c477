namespace OpenBsdBuild.Emulation;

/// <summary>
/// Every request the emulator answered, in arrival order, with per-action counts — for
/// asserting call patterns (retries, polling rates) and for benchmarks.
/// </summary>
internal sealed class RequestLog
{
    private readonly object _lock = new();
    private readonly List<EmulatorRequest> _entries = [];

    public void Add(EmulatorRequest entry)
    {
        lock (_lock) _entries.Add(entry);
    }

    public IReadOnlyList<EmulatorRequest> Snapshot()
    {
        lock (_lock) return _entries.ToList();
    }

    public int Count(string action)
    {
        lock (_lock) return _entries.Count(e => e.Action == action);
    }

    public IReadOnlyDictionary<string, int> Counts()
    {
        lock (_lock) return _entries.GroupBy(e => e.Action).ToDictionary(g => g.Key, g => g.Count());
    }

    public void Clear()
    {
        lock (_lock) _entries.Clear();
    }
}
