using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Renci.SshNet;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;

// Transfers against the test guest through a real sshd jump, with OpenSSH's tools as the baseline in
// the same run: every method runs once per round, in turn, so load on the machine hits them alike.
static class GuestTransfers
{
    const string Remote = "/usr/obj/bench";

    /// <summary>
    /// Downloads, then uploads (either may be left out); lean leaves out the raw SFTP and other-compression columns.
    /// </summary>
    public static async Task RunAsync(int rounds, int[] sizes, bool small, bool down = true, bool up = true, bool lean = false)
    {
        using var rig = new GuestRig();
        var table = new List<string>();
        using (var setup = await rig.ConnectGuestAsync())
        {
            string make = $"mkdir -p {Remote} && cd {Remote} && " + string.Join(" && ", sizes.Select(mb => $"head -c {mb << 20} /dev/urandom > a{mb}.bin")) +
                          (small ? " && mkdir -p small && cd small && i=0; while [ $i -lt 1024 ]; do head -c 8192 /dev/urandom > f$i; i=$((i+1)); done" : "");
            await Run(setup, make);
            var sw = Stopwatch.StartNew();
            await Run(setup, $"sha256sum {Remote}/a{sizes.Max()}.bin >/dev/null");
            Console.WriteLine($"sha256sum in the guest alone: {sizes.Max() / sw.Elapsed.TotalSeconds:0.0} MB/s");
        }
        string local = Directory.CreateTempSubdirectory("obb-bench-dl-").FullName;
        if (down) foreach (int mb in sizes) table.Add(await DownloadAsync(rig, rounds, $"a{mb}.bin", mb, local, false, lean));
        if (down && small) table.Add(await DownloadAsync(rig, rounds, "small", 8, local, true, lean));
        Directory.Delete(local, true);
        // The guest's /usr/obj is a 512 MB tmpfs: the download files go before anything is uploaded.
        using (var cleanup = await rig.ConnectGuestAsync()) await Run(cleanup, $"rm -rf {Remote}");

        string trees = Directory.CreateTempSubdirectory("obb-bench-up-").FullName;
        foreach (int mb in up ? sizes : Array.Empty<int>())
        {
            string tree = Path.Combine(trees, $"t{mb}");
            Directory.CreateDirectory(tree);
            Tools.Sh($"head -c {mb << 20} /dev/urandom > {tree}/blob.bin");
            table.Add(await UploadAsync(rig, rounds, tree, $"{mb} MB file (random)", lean));
        }
        if (up && small)
        {
            string tree = Path.Combine(trees, "src");
            double mb = Bench.SourceTree(tree, 10_000);
            table.Add(await UploadAsync(rig, rounds, tree, $"10,000 source files ({mb:0} MB)", lean));
        }
        Directory.Delete(trees, true);
        Console.WriteLine();
        Console.WriteLine("| direction | what | ours (median MB/s [rounds]) | OpenSSH (median MB/s [rounds]) | ours ÷ OpenSSH (median of the rounds' ratios [rounds]) | raw SFTP / other gzip choice (MB/s) | client CPU s per 100 MB, ours / OpenSSH (upload) | guest's QEMU CPU s per 100 MB, ours / OpenSSH (upload) | client peak RSS |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (string row in table) Console.WriteLine(row);
    }

    static async Task<string> DownloadAsync(GuestRig rig, int rounds, string name, double mb, string local, bool directory, bool lean)
    {
        var ours = new List<double>();
        var raw = new List<double>();
        var scp = new List<double>();
        var cpu = new List<double>(); // this process's CPU seconds per 100 MB of verified fetch
        long rss = 0;
        for (int i = 0; i < rounds; i++)
        {
            string dest = Path.Combine(local, "r" + i);
            Directory.CreateDirectory(dest);
            var methods = new List<Func<Task>>
            {
                async () =>
                {
                    Rss.Reset();
                    TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    var sw = Stopwatch.StartNew();
                    // What Invoke-GuestBuild does: its own session through the jump, then the verified fetch.
                    using (var shell = await rig.ConnectGuestAsync())
                        await ArtifactCollector.CollectAsync(shell, "bench", Remote, new[] { name }, Path.Combine(dest, "ours"), NullReporter.Instance, default);
                    ours.Add(mb / sw.Elapsed.TotalSeconds);
                    cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds * 100 / mb);
                    rss = Math.Max(rss, Rss.Peak());
                },
                () =>
                {
                    var sw = Stopwatch.StartNew();
                    Tools.Sh($"scp -q -F {rig.SshConfig} {(directory ? "-r " : "")}guest:{Remote}/{name} {dest}/scp");
                    scp.Add(mb / sw.Elapsed.TotalSeconds);
                    return Task.CompletedTask;
                },
            };
            if (!directory && !lean)
                methods.Add(async () =>
                {
                    var sw = Stopwatch.StartNew();
                    using (var shell = await rig.ConnectGuestAsync())
                    using (var f = new FileStream(Path.Combine(dest, "raw.bin"), FileMode.Create))
                        await shell.DownloadAsync($"{Remote}/{name}", f, null, default);
                    raw.Add(mb / sw.Elapsed.TotalSeconds);
                });
            // Each round starts with another method: a load that rises or falls during a round favours none.
            for (int k = 0; k < methods.Count; k++) await methods[(k + i) % methods.Count]();
            Console.WriteLine($"download {name}, round {i + 1}: verified fetch {ours[^1]:0.0} MB/s ({cpu[^1]:0.00} client CPU s per 100 MB), " +
                              (raw.Count > i ? $"raw SFTP {raw[^1]:0.0} MB/s, " : "") + $"scp -J {scp[^1]:0.0} MB/s");
            Directory.Delete(dest, true);
        }
        var (ratio, perRound) = Bench.PairedRatio(ours, scp);
        return $"| download | {(directory ? "1,024 files of 8 KB" : name.Replace("a", "").Replace(".bin", " MB"))} | {Rounds(ours)} | {Rounds(scp)} (scp -J) | {ratio:0.00} [{perRound}] | " +
               $"{(raw.Count > 0 ? Bench.Median(raw).ToString("0.0") : "-")} | - | - | {rss >> 20} MB |";
    }

    static async Task<string> UploadAsync(GuestRig rig, int rounds, string tree, string what, bool lean)
    {
        double mb = Directory.EnumerateFiles(tree, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) / 1048576.0;
        var ours = new List<double>();
        var tar = new List<double>();
        var other = new List<double>();
        var oursCpu = new List<double>(); // CPU seconds per 100 MB: this process for ours, reaped children (tar, ssh, ssh -W) for OpenSSH
        var tarCpu = new List<double>();
        var oursGuest = new List<double>(); // the guest's QEMU process (vCPU and its network), CPU seconds per 100 MB
        var tarGuest = new List<double>();
        int qemu = Tools.QemuProcesses(rig.Host.Directory).Single();
        var oursInside = new List<GuestCounters>(); // the guest's own view: packets received, CPU ticks by kind
        var tarInside = new List<GuestCounters>();
        long rss = 0;
        // The compression SourceUpload does not choose for this tree, to show what the choice is worth.
        var otherLevel = SourcePackager.ChooseLevel(SourcePackager.Select(tree, true, Array.Empty<string>())) == System.IO.Compression.CompressionLevel.NoCompression
            ? System.IO.Compression.CompressionLevel.Fastest : System.IO.Compression.CompressionLevel.NoCompression;
        string otherName = otherLevel == System.IO.Compression.CompressionLevel.NoCompression ? "plain tar" : "gzip fastest";
        for (int i = 0; i < rounds; i++)
        {
            var methods = new List<Func<Task>>
            {
                async () =>
                {
                    // The working directory exists before the upload, as Invoke-GuestBuild's setup makes it: not timed.
                    GuestCounters before;
                    using (var setup = await rig.ConnectGuestAsync())
                    {
                        await Run(setup, "mkdir -p /usr/obj/up-ours");
                        before = await GuestCounters.ReadAsync(setup);
                    }
                    Rss.Reset();
                    TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                    double guest0 = CpuSeconds(qemu);
                    var sw = Stopwatch.StartNew();
                    using (var shell = await rig.ConnectGuestAsync())
                    {
                        var spec = new BuildSpec { Command = "true", SourcePath = tree, IncludeIgnored = true, Destination = tree };
                        await SourceUpload.SendAsync(shell, "bench", spec, "/usr/obj/up-ours", NullReporter.Instance, default);
                    }
                    ours.Add(mb / sw.Elapsed.TotalSeconds);
                    oursGuest.Add((CpuSeconds(qemu) - guest0) * 100 / mb);
                    using (var after = await rig.ConnectGuestAsync()) oursInside.Add((await GuestCounters.ReadAsync(after)).Since(before));
                    oursCpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds * 100 / mb);
                    rss = Math.Max(rss, Rss.Peak());
                },
                async () =>
                {
                    GuestCounters before;
                    using (var setup = await rig.ConnectGuestAsync()) before = await GuestCounters.ReadAsync(setup);
                    double children0 = ChildrenCpuSeconds(), guest0 = CpuSeconds(qemu);
                    var sw = Stopwatch.StartNew();
                    Tools.Sh($"tar cf - -C {tree} . | ssh -F {rig.SshConfig} guest 'mkdir -p /usr/obj/up-tar && tar xf - -C /usr/obj/up-tar'");
                    tar.Add(mb / sw.Elapsed.TotalSeconds);
                    tarCpu.Add((ChildrenCpuSeconds() - children0) * 100 / mb);
                    tarGuest.Add((CpuSeconds(qemu) - guest0) * 100 / mb);
                    using (var after = await rig.ConnectGuestAsync()) tarInside.Add((await GuestCounters.ReadAsync(after)).Since(before));
                },
            };
            if (!lean)
                methods.Add(async () =>
                {
                    using (var setup = await rig.ConnectGuestAsync()) await Run(setup, "mkdir -p /usr/obj/up-other");
                    var sw = Stopwatch.StartNew();
                    using (var shell = await rig.ConnectGuestAsync())
                    {
                        var spec = new BuildSpec { Command = "true", SourcePath = tree, IncludeIgnored = true, Destination = tree };
                        await SourceUpload.SendAsync(shell, "bench", spec, "/usr/obj/up-other", NullReporter.Instance, default, otherLevel);
                    }
                    other.Add(mb / sw.Elapsed.TotalSeconds);
                });
            // Rotated each round as for downloads; the guest's 512 MB /usr/obj holds one copy at a time.
            for (int k = 0; k < methods.Count; k++)
            {
                await methods[(k + i) % methods.Count]();
                using var shell = await rig.ConnectGuestAsync();
                await Run(shell, "rm -rf /usr/obj/up-ours /usr/obj/up-tar /usr/obj/up-other");
            }
            Console.WriteLine($"upload {what}, round {i + 1} (load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}): ours {ours[^1]:0.0} MB/s (CPU s per 100 MB: client {oursCpu[^1]:0.00}, guest {oursGuest[^1]:0.0}), " +
                              (lean ? "" : $"{otherName} {other[^1]:0.0} MB/s, ") + $"tar | ssh -J tar x {tar[^1]:0.0} MB/s (client {tarCpu[^1]:0.00}, guest {tarGuest[^1]:0.0})");
            Console.WriteLine($"  inside the guest, per MB: ours {oursInside[^1].PerMB(mb)}; tar | ssh {tarInside[^1].PerMB(mb)}");
        }
        var (ratio, perRound) = Bench.PairedRatio(ours, tar);
        return $"| upload | {what} | {Rounds(ours)} | {Rounds(tar)} (tar \\| ssh -J tar x) | {ratio:0.00} [{perRound}] | " +
               $"{(lean ? "-" : $"{otherName}: {Bench.Median(other):0.0}")} | {Bench.Median(oursCpu):0.00} / {Bench.Median(tarCpu):0.00} | {Bench.Median(oursGuest):0.0} / {Bench.Median(tarGuest):0.0} | {rss >> 20} MB |";
    }

    /// <summary>A median with the rounds it came from.</summary>
    static string Rounds(List<double> mbps) => $"{Bench.Median(mbps):0.0} [{string.Join(" ", mbps.Select(v => v.ToString("0.0")))}]";

    /// <summary>CPU seconds a process has used (utime + stime, /proc/PID/stat fields 14-15).</summary>
    static double CpuSeconds(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[14 - 3]) + long.Parse(fields[15 - 3])) / 100.0;
    }

    /// <summary>CPU seconds of this process's reaped children and theirs (utime + stime of the waited-for, /proc/self/stat fields 16-17).</summary>
    static double ChildrenCpuSeconds()
    {
        string stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' '); // fields from 3 on: the name may hold spaces
        return (long.Parse(fields[16 - 3]) + long.Parse(fields[17 - 3])) / 100.0; // USER_HZ is 100 on Linux
    }

    /// <summary>
    /// Where an upload's time goes: the bare byte stream (ours vs ssh -J, `cat > /dev/null` in the guest), then
    /// the same tar unpacked plain, through gzip -1 and our fastest deflate, and what SourceUpload chooses, every
    /// method once per round, rotated.
    /// </summary>
    public static async Task UploadProbeAsync(int rounds, int megabytes, bool text, bool lean = false)
    {
        using var rig = new GuestRig();
        string tree = Directory.CreateTempSubdirectory("obb-bench-probe-").FullName;
        double mb = text ? Bench.SourceTree(tree, megabytes * 100) : megabytes;
        if (!text) Tools.Sh($"head -c {megabytes << 20} /dev/urandom > {tree}/blob.bin");
        string tarFile = tree + ".tar";
        Tools.Sh($"tar cf {tarFile} -C {tree} . && gzip -1 -k {tarFile}");
        var level = SourcePackager.ChooseLevel(SourcePackager.Select(tree, true, Array.Empty<string>()));
        var results = new Dictionary<string, List<double>>();
        var cpu = new Dictionary<string, List<double>>(); // this process's CPU seconds per 100 MB
        async Task Ours(string name, string command, Func<Stream> input)
        {
            TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            using (var shell = await rig.ConnectGuestAsync())
            using (var stream = input())
            {
                int code = await shell.StreamAsync(command, stream, null, null, default);
                if (code != 0) throw new Exception($"{name}: exit {code}");
            }
            Add(name, mb / sw.Elapsed.TotalSeconds);
            if (!cpu.ContainsKey(name)) cpu[name] = new List<double>();
            cpu[name].Add((Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds * 100 / mb);
        }
        void Add(string name, double v) { if (!results.ContainsKey(name)) results[name] = new List<double>(); results[name].Add(v); }
        Task Ssh(string name, string pipeline)
        {
            var sw = Stopwatch.StartNew();
            Tools.Sh(pipeline);
            Add(name, mb / sw.Elapsed.TotalSeconds);
            return Task.CompletedTask;
        }
        Stream Packed(System.IO.Compression.CompressionLevel level) =>
            SourcePackager.Archive(SourcePackager.Select(tree, true, Array.Empty<string>()), level, null, default);
        string unpack = "mkdir -p /usr/obj/p && cd /usr/obj/p && " + SourcePackager.UnpackCommand(level);
        string ourTarFile = tree + ".ours.tar"; // our packer's archive, kept: is it the bytes or their producer that costs
        using (var file = File.Create(ourTarFile)) Packed(level).CopyTo(file);
        var methods = new List<(string Name, Func<string, Task> Run)>
        {
            // The archive read through a stream that hides its CopyToAsync: packed on a thread into a pipe, then copied.
            ("ours tar (auto, pulled)", name => Ours(name, unpack, () => new ReadOnly(Packed(level)))),
            ("ours cat", name => Ours(name, "cat > /dev/null", () => File.OpenRead(tarFile))),
            ("ssh cat", name => Ssh(name, $"ssh -F {rig.SshConfig} guest 'cat > /dev/null' < {tarFile}")),
            ("ours tar x", name => Ours(name, "mkdir -p /usr/obj/p && tar xf - -C /usr/obj/p", () => File.OpenRead(tarFile))),
            ("ssh tar x", name => Ssh(name, $"ssh -F {rig.SshConfig} guest 'mkdir -p /usr/obj/p && tar xf - -C /usr/obj/p' < {tarFile}")),
            ("ours tar xzf (gzip -1)", name => Ours(name, "mkdir -p /usr/obj/p && tar xzf - -C /usr/obj/p", () => File.OpenRead(tarFile + ".gz"))),
            ("ours tar xzf (ours, fastest)", name => Ours(name, "mkdir -p /usr/obj/p && tar xzf - -C /usr/obj/p", () => Packed(System.IO.Compression.CompressionLevel.Fastest))),
            ("ours tar (auto)", name => Ours(name, unpack, () => Packed(level))),
            ("ours tar (auto), from a file", name => Ours(name, unpack, () => File.OpenRead(ourTarFile))),
        };
        // lean: the file fed by ours and by ssh, and the archive pushed and pulled.
        if (lean) methods = new List<(string, Func<string, Task>)> { methods[0], methods[3], methods[4], methods[7], methods[8] };
        for (int i = 0; i < rounds; i++)
        {
            var inside = new List<string>();
            for (int k = 0; k < methods.Count; k++)
            {
                var (name, run) = methods[(k + i) % methods.Count];
                GuestCounters before;
                using (var setup = await rig.ConnectGuestAsync()) before = await GuestCounters.ReadAsync(setup);
                await run(name);
                using var shell = await rig.ConnectGuestAsync();
                inside.Add($"  {name}: {(await GuestCounters.ReadAsync(shell)).Since(before).PerMB(mb)}");
                await Run(shell, "rm -rf /usr/obj/p");
            }
            Console.WriteLine($"round {i + 1} (load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}): " + string.Join(", ", results.Select(r => $"{r.Key} {r.Value[^1]:0.0}")));
            Console.WriteLine("inside the guest, per MB:\n" + string.Join("\n", inside));
        }
        Console.WriteLine($"| upload probe, {mb:0} MB {(text ? "source text" : "random")} | median MB/s | rounds | client CPU s per 100 MB |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var r in results)
            Console.WriteLine($"| {r.Key} | {Bench.Median(r.Value):0.0} | {string.Join(" ", r.Value.Select(v => v.ToString("0.0")))} | " +
                              (cpu.TryGetValue(r.Key, out var c) ? $"{Bench.Median(c):0.00}" : "-") + " |");
        Directory.Delete(tree, true);
        File.Delete(tarFile);
        File.Delete(tarFile + ".gz");
        File.Delete(ourTarFile);
    }

    /// <summary>
    /// What unpacking costs the guest's own CPU, no network: the same 50 MB (random) tar unpacked plain, as gzip with
    /// stored blocks and through gunzip alone, timed inside the guest, interleaved over the rounds.
    /// </summary>
    public static async Task GuestCostAsync(int rounds, int megabytes)
    {
        using var rig = new GuestRig();
        using var shell = await rig.ConnectGuestAsync();
        string d = "/usr/obj/cost";
        await Run(shell, $"mkdir -p {d}/s && head -c {megabytes << 20} /dev/urandom > {d}/s/blob && tar cf {d}/x.tar -C {d}/s . && gzip -1 < {d}/x.tar > {d}/x.tgz && rm -rf {d}/s && ls -l {d}");
        var steps = new (string name, string command)[]
        {
            ("cat tar > /dev/null", $"cat {d}/x.tar > /dev/null"),
            ("tar xf (plain)", $"mkdir {d}/o && tar xf {d}/x.tar -C {d}/o"),
            ("tar xzf (gzip -1 of random: stored blocks)", $"mkdir {d}/o && tar xzf {d}/x.tgz -C {d}/o"),
            ("gzip -dc > /dev/null", $"gzip -dc < {d}/x.tgz > /dev/null"),
            ("sha256sum", $"sha256sum {d}/x.tar > /dev/null"),
        };
        var times = steps.ToDictionary(s => s.name, _ => new List<double>());
        for (int i = 0; i < rounds; i++)
            for (int k = 0; k < steps.Length; k++)
            {
                var (name, command) = steps[(k + i) % steps.Length];
                // busybox date has no %N: the guest's /proc/uptime (10 ms) brackets the step.
                var r = await shell.RunAsync($"read a _ < /proc/uptime; {command}; read b _ < /proc/uptime; rm -rf {d}/o; echo $a $b", default);
                if (!r.Succeeded) throw new Exception($"{command}: {r.Message}");
                var ab = r.Stdout.Trim().Split('\n')[^1].Split(' ');
                times[name].Add(double.Parse(ab[1], System.Globalization.CultureInfo.InvariantCulture) - double.Parse(ab[0], System.Globalization.CultureInfo.InvariantCulture));
            }
        Console.WriteLine($"| in the guest, {megabytes} MB random | median s | MB/s | rounds (s) |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var t in times) Console.WriteLine($"| {t.Key} | {Bench.Median(t.Value):0.00} | {megabytes / Bench.Median(t.Value):0.0} | {string.Join(" ", t.Value.Select(v => v.ToString("0.00")))} |");
    }

    /// <summary>
    /// Every cipher and MAC the module offers (SshAlgorithms: only what OpenSSH still enables), one at a time, against
    /// the guest (through the jump) and the host's sshd; every combination once per round, order rotated, medians.
    /// </summary>
    public static async Task CiphersAsync(int megabytes, int rounds)
    {
        using var rig = new GuestRig();
        using (var setup = await rig.ConnectGuestAsync()) await Run(setup, $"mkdir -p {Remote} && head -c {megabytes << 20} /dev/urandom > {Remote}/c.bin");
        Tools.Sh($"head -c {(megabytes * 8) << 20} /dev/urandom > {rig.Host.Directory}/c.bin");
        var probe = new ConnectionInfo("x", "x", new NoneAuthenticationMethod("x"));
        var combos = new List<(string cipher, string? mac)>();
        foreach (string c in SshAlgorithms.Ciphers.Where(probe.Encryptions.ContainsKey))
        {
            if (probe.Encryptions[c].IsAead) combos.Add((c, null));
            else foreach (string m in SshAlgorithms.Macs.Where(probe.HmacAlgorithms.ContainsKey)) combos.Add((c, m));
        }
        var guest = combos.ToDictionary(c => c, _ => new List<double>());
        var host = combos.ToDictionary(c => c, _ => new List<double>());
        var refused = new Dictionary<(string, string?), string>();
        for (int i = 0; i < rounds; i++)
        {
            for (int k = 0; k < combos.Count; k++)
            {
                var (cipher, mac) = combos[(k + i) % combos.Count];
                if (!refused.ContainsKey((cipher, mac)))
                {
                    double? g = await OneCipherAsync(rig, cipher, mac, true, megabytes, $"{Remote}/c.bin");
                    if (g == null) refused[(cipher, mac)] = "not offered by the guest";
                    else guest[(cipher, mac)].Add(g.Value);
                }
                double? h = await OneCipherAsync(rig, cipher, mac, false, megabytes * 8, $"{rig.Host.Directory}/c.bin");
                if (h != null) host[(cipher, mac)].Add(h.Value);
            }
            Console.WriteLine($"round {i + 1} done");
        }
        string Cell(List<double> v) => v.Count == 0 ? "not offered" : Rounds(v);
        Console.WriteLine($"| cipher | MAC | guest via jump, {megabytes} MB (median MB/s) | host sshd, {megabytes * 8} MB (median MB/s) |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var c in combos) Console.WriteLine($"| {c.cipher} | {c.mac ?? "(AEAD)"} | {Cell(guest[c])} | {Cell(host[c])} |");
    }

    static async Task<double?> OneCipherAsync(GuestRig rig, string cipher, string? mac, bool guest, int megabytes, string path)
    {
        Tunnel? tunnel = guest ? await rig.Guest.Host.Shell.OpenTunnelAsync("127.0.0.1", rig.Guest.SshPort, default) : null;
        try
        {
            var key = new PrivateKeyFile(guest ? rig.Image.KeyFile : rig.Host.KeyFile);
            var info = new ConnectionInfo(tunnel?.Host ?? rig.Host.Address, tunnel?.Port ?? 22, guest ? rig.Guest.User : "root", new PrivateKeyAuthenticationMethod(guest ? rig.Guest.User : "root", key));
            foreach (string k in info.Encryptions.Keys.ToList()) if (k != cipher) info.Encryptions.Remove(k);
            if (mac != null) foreach (string k in info.HmacAlgorithms.Keys.ToList()) if (k != mac) info.HmacAlgorithms.Remove(k);
            using var sftp = new SftpClient(info) { BufferSize = 64 * 1024 };
            try { sftp.Connect(); }
            catch (Exception ex)
            {
                Console.WriteLine($"{cipher} {mac} {(guest ? "guest" : "host")}: {ex.Message}"); // normally: no algorithm in common
                return null;
            }
            var sw = Stopwatch.StartNew();
            await sftp.DownloadFileAsync(path, Stream.Null, default);
            return megabytes / sw.Elapsed.TotalSeconds;
        }
        finally
        {
            tunnel?.Dispose();
        }
    }

    static async Task Run(IHostShell shell, string command)
    {
        var r = await shell.RunAsync(command, default);
        if (!r.Succeeded) throw new Exception($"`{command}` failed: {r.Message}");
    }
}

/// <summary>
/// The guest's counters around a transfer: eth0's received packets, /proc/stat's CPU ticks (user, system, irq+softirq,
/// idle), interrupts and context switches (how often the guest woke for the same bytes).
/// </summary>
sealed record GuestCounters(long Packets, long User, long System, long Irq, long Idle, long Interrupts, long Switches)
{
    public static async Task<GuestCounters> ReadAsync(IHostShell shell)
    {
        var r = await shell.RunAsync("grep -E '^(cpu |intr |ctxt )' /proc/stat; grep eth0 /proc/net/dev", default);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        long[] Numbers(string prefix) =>
            lines.First(l => l.StartsWith(prefix)).Substring(prefix.Length).Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
        var cpu = Numbers("cpu "); // user nice system idle iowait irq softirq
        var net = lines.First(l => l.Contains("eth0:")).Split(':')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray(); // bytes packets ...
        return new GuestCounters(net[1], cpu[0] + cpu[1], cpu[2], cpu[5] + cpu[6], cpu[3] + cpu[4], Numbers("intr ")[0], Numbers("ctxt ")[0]);
    }

    public GuestCounters Since(GuestCounters before) =>
        new GuestCounters(Packets - before.Packets, User - before.User, System - before.System, Irq - before.Irq, Idle - before.Idle,
            Interrupts - before.Interrupts, Switches - before.Switches);

    public string PerMB(double mb) =>
        $"{Packets / mb:0} packets, {Interrupts / mb:0} interrupts, {Switches / mb:0} context switches, " +
        $"ticks user {User / mb:0.0} system {System / mb:0.0} irq {Irq / mb:0.0} idle {Idle / mb:0.0}";
}

/// <summary>Only Read: what any stream that is not the archive itself would offer a copy.</summary>
sealed class ReadOnly : SequentialStream
{
    private readonly Stream _inner;
    public ReadOnly(Stream inner) => _inner = inner;
    public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
    protected override void Dispose(bool disposing) { if (disposing) _inner.Dispose(); base.Dispose(disposing); }
    public override bool CanRead => true;
    public override bool CanWrite => false;
}

/// <summary>The client's peak resident set, reset per measurement (Linux clear_refs 5 resets VmHWM).</summary>
static class Rss
{
    public static void Reset() => File.WriteAllText("/proc/self/clear_refs", "5");
    public static long Peak() =>
        long.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("VmHWM:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
}
