using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;

// Where a download's time and this client's CPU go: the verified fetch, the bare byte stream (`cat` on an exec
// channel into nothing), and OpenSSH doing the same two things, every method once per round, rotated; per method the
// client's CPU seconds per 100 MB, and for ours which of this process's threads spent them.
static class DownloadProbe
{
    const string Remote = "/usr/obj/probe";

    public static async Task RunAsync(int rounds, int megabytes, bool hashing = false)
    {
        using var rig = new GuestRig();
        using (var setup = await rig.ConnectGuestAsync())
        {
            var r = await setup.RunAsync($"mkdir -p {Remote} && head -c {megabytes << 20} /dev/urandom > {Remote}/a.bin", default);
            if (!r.Succeeded) throw new Exception(r.Message);
        }
        string local = Directory.CreateTempSubdirectory("obb-bench-probe-").FullName;
        var speed = new Dictionary<string, List<double>>();
        var cpu = new Dictionary<string, List<double>>();
        var connects = new Dictionary<string, List<double>>();
        var threads = new Dictionary<string, Dictionary<string, double>>();
        string last = "";
        void Add(Dictionary<string, List<double>> d, string k, double v) { if (!d.ContainsKey(k)) d[k] = new List<double>(); d[k].Add(v); last = k; }

        async Task Ours(string name, Func<SshShell, Task> transfer)
        {
            var before = ThreadCpu.Snapshot();
            TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            using (var shell = await rig.ConnectGuestAsync())
            {
                Add(connects, name, sw.Elapsed.TotalSeconds);
                await transfer(shell);
            }
            Add(speed, name, megabytes / sw.Elapsed.TotalSeconds);
            Add(cpu, name, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds * 100 / megabytes);
            if (!threads.ContainsKey(name)) threads[name] = new Dictionary<string, double>();
            foreach (var (group, seconds) in ThreadCpu.Delta(before, ThreadCpu.Snapshot()))
                threads[name][group] = threads[name].GetValueOrDefault(group) + seconds * 100 / megabytes / rounds;
        }
        void OpenSsh(string name, string command)
        {
            // Children's CPU: waited-for descendants land in this process's cutime/cstime.
            double c0 = ThreadCpu.Children();
            var sw = Stopwatch.StartNew();
            Tools.Sh(command);
            Add(speed, name, megabytes / sw.Elapsed.TotalSeconds);
            Add(cpu, name, (ThreadCpu.Children() - c0) * 100 / megabytes);
        }
        var timelines = new List<string>();
        var methods = new List<Func<Task>>
        {
            () => Ours("ours verified fetch", async shell =>
            {
                var timed = new TimelineShell(shell);
                await ArtifactCollector.CollectAsync(timed, "bench", Remote, new[] { "a.bin" }, Path.Combine(local, "ours"), NullReporter.Instance, default);
                timelines.Add(timed.Describe());
            }),
            () => Ours("ours cat (exec channel, into nothing)", async shell =>
            {
                int code = await shell.ReadAsync($"cat {Remote}/a.bin", null, s => { s.CopyTo(Stream.Null, 1 << 20); return Task.CompletedTask; }, null, default);
                if (code != 0) throw new Exception($"cat: exit {code}");
            }),
            () => { OpenSsh("scp -J", $"scp -q -F {rig.SshConfig} guest:{Remote}/a.bin {local}/scp.bin"); return Task.CompletedTask; },
            () => { OpenSsh("ssh -J cat", $"ssh -F {rig.SshConfig} guest cat {Remote}/a.bin > /dev/null"); return Task.CompletedTask; },
        };
        if (hashing) methods = HashingMethods(rig, OpenSsh);
        var inside = new Dictionary<string, List<GuestCounters>>();
        for (int i = 0; i < rounds; i++)
        {
            for (int k = 0; k < methods.Count; k++)
            {
                GuestCounters before;
                using (var s = await rig.ConnectGuestAsync()) before = await GuestCounters.ReadAsync(s);
                await methods[(k + i) % methods.Count]();
                using (var s = await rig.ConnectGuestAsync())
                {
                    if (!inside.ContainsKey(last)) inside[last] = new List<GuestCounters>();
                    inside[last].Add((await GuestCounters.ReadAsync(s)).Since(before));
                }
                foreach (string f in Directory.GetFileSystemEntries(local)) if (Directory.Exists(f)) Directory.Delete(f, true); else File.Delete(f);
            }
            Console.WriteLine($"round {i + 1} ({Tools.Sh("cut -d' ' -f1-3 /proc/loadavg").Trim()}): " +
                              string.Join(", ", speed.Select(s => $"{s.Key} {s.Value[^1]:0.0} MB/s ({cpu[s.Key][^1]:0.00} CPU s/100 MB)")));
        }
        Console.WriteLine($"| {megabytes} MB from the guest | median MB/s | rounds | client CPU s per 100 MB (median) |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var s in speed)
            Console.WriteLine($"| {s.Key} | {Bench.Median(s.Value):0.0} | {string.Join(" ", s.Value.Select(v => v.ToString("0.0")))} | {Bench.Median(cpu[s.Key]):0.00} |");
        foreach (var t in threads)
            Console.WriteLine($"{t.Key}, CPU s per 100 MB by thread (mean): " +
                              string.Join(", ", t.Value.Where(g => g.Value >= 0.01).OrderByDescending(g => g.Value).Select(g => $"{g.Key} {g.Value:0.00}")));
        Console.WriteLine("The guest's view per MB (each round; the counters are read on their own sessions, so a connect each side is in them):");
        foreach (var (name, list) in inside)
            foreach (var c in list) Console.WriteLine($"  {name}: {c.PerMB(megabytes)}");
        foreach (var (name, list) in connects) Console.WriteLine($"{name}: connect {string.Join(" ", list.Select(v => v.ToString("0.00")))} s");
        Console.WriteLine("The verified fetch's commands, seconds from the fetch's start (after the connect):");
        foreach (string t in timelines) Console.WriteLine("  " + t);
        Directory.Delete(local, true);
    }

    /// <summary>
    /// What the guest's own checksum costs a download, all through OpenSSH so only the guest's side changes: the bare
    /// stream; sha256sum beside it (as the verified fetch runs it), niced, or after it; sha512sum beside it; and each
    /// hash alone (less an `ssh guest true`).
    /// </summary>
    static List<Func<Task>> HashingMethods(GuestRig rig, Action<string, string> openSsh)
    {
        string f = $"{Remote}/a.bin";
        string ssh = $"ssh -F {rig.SshConfig} guest";
        Func<Task> Run(string name, string remote) => () => { openSsh(name, $"{ssh} '{remote}' > /dev/null"); return Task.CompletedTask; };
        return new List<Func<Task>>
        {
            Run("cat", $"cat {f}"),
            Run("cat, sha256sum beside it", $"sha256sum {f} >&2 & cat {f}; wait"),
            Run("cat, nice -n 19 sha256sum beside it", $"nice -n 19 sha256sum {f} >&2 & cat {f}; wait"),
            Run("cat, then sha256sum", $"cat {f}; sha256sum {f} >&2"),
            Run("cat, sha512sum beside it", $"sha512sum {f} >&2 & cat {f}; wait"),
            Run("true (connection alone)", "true"),
            Run("sha256sum alone", $"sha256sum {f} >&2"),
            Run("sha512sum alone", $"sha512sum {f} >&2"),
        };
    }
}

/// <summary>This process's CPU by thread name (Linux /proc), so a profile can say which threads spend it.</summary>
static class ThreadCpu
{
    static readonly double Tick = 100.0; // USER_HZ

    public static Dictionary<string, (string group, double seconds)> Snapshot()
    {
        var result = new Dictionary<string, (string, double)>();
        foreach (string task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                string name = File.ReadAllText(Path.Combine(task, "comm")).Trim().TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9').Trim();
                string stat = File.ReadAllText(Path.Combine(task, "stat"));
                string[] f = stat.Substring(stat.LastIndexOf(')') + 2).Split(' ');
                result[Path.GetFileName(task)] = (name, (long.Parse(f[11]) + long.Parse(f[12])) / Tick);
            }
            catch (IOException) { /* the thread ended */ }
        }
        return result;
    }

    public static IEnumerable<(string group, double seconds)> Delta(Dictionary<string, (string group, double seconds)> before, Dictionary<string, (string group, double seconds)> after) =>
        after.Select(a => (a.Value.group, a.Value.seconds - (before.TryGetValue(a.Key, out var b) ? b.seconds : 0)))
             .GroupBy(x => x.group).Select(g => (g.Key, g.Sum(x => x.Item2)));

    /// <summary>CPU seconds of this process's waited-for children (cutime + cstime).</summary>
    public static double Children()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        string[] f = stat.Substring(stat.LastIndexOf(')') + 2).Split(' ');
        return (long.Parse(f[13]) + long.Parse(f[14])) / Tick;
    }
}

/// <summary>A guest shell that notes when each command starts and ends, for a fetch's timeline.</summary>
sealed class TimelineShell : IHostShell
{
    private readonly IHostShell _inner;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<string> _events = new();

    public TimelineShell(IHostShell inner) => _inner = inner;

    public string Description => _inner.Description;
    public bool IsLocal => _inner.IsLocal;

    private async Task<T> Timed<T>(string command, Func<Task<T>> run)
    {
        string what = command.Length > 40 ? command.Substring(0, 40) : command;
        double start = _clock.Elapsed.TotalSeconds;
        try { return await run(); }
        finally { lock (_events) _events.Add($"[{start:0.00}–{_clock.Elapsed.TotalSeconds:0.00}] {what.Replace('\n', ' ')}"); }
    }

    public string Describe() { lock (_events) return string.Join("; ", _events); }

    public Task<ShellResult> RunAsync(string command, CancellationToken cancellationToken) =>
        Timed(command, () => _inner.RunAsync(command, cancellationToken));
    public Task<int> StreamAsync(string command, Stream? input, Action<string>? onStdout, Action<string>? onStderr, CancellationToken cancellationToken) =>
        Timed(command, () => _inner.StreamAsync(command, input, onStdout, onStderr, cancellationToken));
    public Task<int> ReadAsync(string command, Stream? input, Func<Stream, Task> readOutput, Action<string>? onStderr, CancellationToken cancellationToken) =>
        Timed(command, () => _inner.ReadAsync(command, input, readOutput, onStderr, cancellationToken));
    public Task DownloadAsync(string path, Stream destination, Action<long>? progress, CancellationToken cancellationToken) => _inner.DownloadAsync(path, destination, progress, cancellationToken);
    public Task UploadAsync(Stream source, string path, Action<long>? progress, CancellationToken cancellationToken) => _inner.UploadAsync(source, path, progress, cancellationToken);
    public Task<Tunnel> OpenTunnelAsync(string host, int port, CancellationToken cancellationToken) => _inner.OpenTunnelAsync(host, port, cancellationToken);
    public Task<Tunnel> ExposeLocalPortAsync(int localPort, CancellationToken cancellationToken) => _inner.ExposeLocalPortAsync(localPort, cancellationToken);
    public void Dispose() => _inner.Dispose();
}
