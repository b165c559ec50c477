using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

// Measures with real parts, same run, against plain-tool baselines. Prints medians.
string which = args.FirstOrDefault() ?? "all";
int rounds = args.Length > 1 && int.TryParse(args[1], out int n) ? n : 3;
// The test guest's vCPUs for the guest modes: cpus=N anywhere on the command line; without it, Start-OpenBsdGuest's default.
GuestRig.Cpus = args.Where(a => a.StartsWith("cpus=")).Select(a => (int?)int.Parse(a.Substring(5))).FirstOrDefault();
// Which builds of the SSH stack this run measures (the project copies in the module's own: see the .csproj).
foreach (var assembly in new[] { typeof(Renci.SshNet.SshClient).Assembly, typeof(Org.BouncyCastle.Crypto.Engines.ChaChaEngine).Assembly })
    Console.WriteLine($"{assembly.GetName().Name}: {assembly.GetCustomAttributes(typeof(System.Runtime.Versioning.TargetFrameworkAttribute), false).Cast<System.Runtime.Versioning.TargetFrameworkAttribute>().FirstOrDefault()?.FrameworkName}");
if (which is "readiness" or "all") Readiness(rounds);
if (which is "download" or "all") await DownloadAsync(rounds, 200);
if (which is "download500" or "all") await DownloadAsync(rounds, 500);
if (which is "upload" or "all") await UploadAsync(rounds);
if (which is "latency" or "all") Latency();
if (which == "pack") Pack(args[1]);
if (which == "stdin") await StdinAsync();
// The client's CPU per 100 MB of verified fetch alone (native jump rig, host hop ordered as for a real host): run it under perf.
// A third number caps the guest hop at that many Mbit/s (tc on the rig's loopback), so the bytes trickle in as from a TCG guest.
if (which == "fetchcpu") await FetchCpuAsync(rounds, args.Length > 2 ? int.Parse(args[2]) : 200, args.Length > 3 ? int.Parse(args[3]) : 0);
// Hand-written pieces vs the libraries that could replace them, same process, alternating rounds.
if (which == "libraries") LibraryChoices.Run(rounds);
// The test guest under QEMU behind a real sshd jump (see bench/README.md): sizes in MB, then many small files.
// Options after the sizes: nosmall, up or down (one direction only), lean (no raw SFTP / other-choice columns).
if (which == "guest") await GuestTransfers.RunAsync(rounds, args.Length > 2 ? args[2].Split(',').Select(int.Parse).ToArray() : new[] { 1, 50, 200 },
    !args.Contains("nosmall"), down: !args.Contains("up"), up: !args.Contains("down"), lean: args.Contains("lean"));
// New-OpenBsdInstance vs New-MetalHost to a ready object, with an emulated 60 s boot (EC2 emulator, netns sshd as the instance).
if (which == "native") await NativeReadiness.RunAsync(rounds);
// Register-OpenBsdAmi against the EC2 emulator and s3rver: its own overhead beyond convert, upload and a fixed emulated import.
if (which == "ami") await AmiRegistration.RunAsync(rounds, args.Length > 2 ? int.Parse(args[2]) : 64, TimeSpan.FromSeconds(args.Length > 3 ? int.Parse(args[3]) : 10));
if (which == "upprobe") await GuestTransfers.UploadProbeAsync(rounds, int.Parse(args[2]), args.Contains("text"), args.Contains("lean"));
// Where a download's time and the client's CPU go: verified fetch, bare exec-channel stream, scp -J, ssh -J cat.
// With "hash": what the guest's checksum beside the stream costs, all through OpenSSH (cat alone, sha256sum beside it,
// niced, after it, sha512sum instead; each hash alone).
if (which == "downprobe") await DownloadProbe.RunAsync(rounds, args.Length > 2 ? int.Parse(args[2]) : 50, args.Contains("hash"));
if (which == "guestcost") await GuestTransfers.GuestCostAsync(rounds, args.Length > 2 ? int.Parse(args[2]) : 50);
if (which == "ciphers") await GuestTransfers.CiphersAsync(args.Length > 1 ? int.Parse(args[1]) : 32, args.Length > 2 ? int.Parse(args[2]) : 1);

// Raw SSH.NET stdin throughput through the jump, by write size.
static async Task StdinAsync()
{
    using var rig = new JumpRig();
    var data = new byte[64 << 20];
    new Random(1).NextBytes(data);
    foreach (int chunk in new[] { 8 << 10, 64 << 10, 1 << 20 })
    {
        var sw = Stopwatch.StartNew();
        await rig.GuestShell.StreamAsync("cat > /dev/null", new ChunkedStream(data, chunk), null, null, default);
        Console.WriteLine($"stdin, {chunk >> 10} KB reads: {64 / sw.Elapsed.TotalSeconds:0} MB/s");
    }
    var sw2 = Stopwatch.StartNew();
    Tools.Sh($"head -c {64 << 20} /dev/urandom | ssh {rig.Ssh} -p 2222 root@127.0.0.1 'cat > /dev/null'");
    Console.WriteLine($"ssh -J stdin: {64 / sw2.Elapsed.TotalSeconds:0} MB/s");
}

static async Task FetchCpuAsync(int rounds, int megabytes, int mbit)
{
    using var rig = new JumpRig(OpenBsdBuild.Remote.SshFarEnd.LinuxHost);
    string d = rig.Host.Directory;
    if (mbit > 0) Tools.Sh($"ip netns exec {rig.Host.Namespace} tc qdisc add dev lo root tbf rate {mbit}mbit burst 256kb latency 1s");
    string file = Path.Combine(d, "artifact.bin");
    Tools.Sh($"head -c {megabytes << 20} /dev/urandom > {file}");
    Console.WriteLine($"hops: jump {rig.Jump.Negotiated}, guest {rig.GuestShell.Negotiated}");
    for (int i = 0; i < rounds; i++)
    {
        string dest = Path.Combine(d, "dest");
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        await ArtifactCollector.CollectAsync(rig.GuestShell, "bench", d, new[] { file }, dest, NullReporter.Instance, default);
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        Console.WriteLine($"round {i + 1}: verified fetch {megabytes / sw.Elapsed.TotalSeconds:0.0} MB/s, client CPU {cpu * 100 / megabytes:0.00} s per 100 MB");
        Directory.Delete(dest, true);
    }
    // The other direction: the same bytes as a source upload (plain tar, as SourceUpload chooses for random bytes).
    string tree = Path.Combine(d, "tree");
    Directory.CreateDirectory(tree);
    File.Move(file, Path.Combine(tree, "blob.bin"));
    var spec = new BuildSpec { Command = "true", SourcePath = tree, IncludeIgnored = true, Destination = tree };
    for (int i = 0; i < rounds; i++)
    {
        Tools.Sh($"rm -rf /tmp/obb-upcpu && mkdir -p /tmp/obb-upcpu");
        TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        await SourceUpload.SendAsync(rig.GuestShell, "bench", spec, "/tmp/obb-upcpu", NullReporter.Instance, default);
        double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        Console.WriteLine($"round {i + 1}: source upload {megabytes / sw.Elapsed.TotalSeconds:0.0} MB/s, client CPU {cpu * 100 / megabytes:0.00} s per 100 MB");
    }
    Tools.Sh("rm -rf /tmp/obb-upcpu");
}

// Where upload time goes: packing alone (tar + gzip into nothing).
static void Pack(string tree)
{
    var sel = SourcePackager.Select(tree, true, Array.Empty<string>());
    var sw = Stopwatch.StartNew();
    var counter = new MemoryStream();
    SourcePackager.Pack(sel, Stream.Null, System.IO.Compression.CompressionLevel.Fastest, null, default);
    Console.WriteLine($"pack {sel.Files.Count} files: {sw.Elapsed.TotalSeconds:0.00} s");
}

static double Median(List<double> xs) => Bench.Median(xs);

// Guest readiness: Start-OpenBsdGuest until its object returns, versus QEMU started by hand
// with the same flags and ssh-keyscan polled every 50 ms.
static void Readiness(int rounds)
{
    var image = TestGuestImage.Get();
    string state = Directory.CreateTempSubdirectory("obb-bench-").FullName;
    var ours = new List<double>();
    var baseline = new List<double>();
    using var ps = new PsSession();
    ps.Run($"$h = Connect-MetalHost -Local -StateDirectory '{state}'");
    for (int i = 0; i < rounds; i++)
    {
        var sw = Stopwatch.StartNew();
        var r = ps.Run($"$g = $h | Start-OpenBsdGuest -Image '{image.Path}' -KeyFile '{image.KeyFile}' -Memory 512MB -CpuCount 1; $g");
        double t = sw.Elapsed.TotalSeconds;
        if (r.HadErrors) throw new Exception(r.Describe());
        ours.Add(t);
        ps.Run("$g | Stop-OpenBsdGuest -Force");

        baseline.Add(ShellBaseline(image, state, 23000 + i));
        Console.WriteLine($"round {i + 1}: Start-OpenBsdGuest {t:0.00} s, shell baseline {baseline[^1]:0.00} s");
    }
    ps.Run("$h | Remove-MetalHost");
    Directory.Delete(state, true);
    double o = Median(ours), b = Median(baseline);
    Console.WriteLine($"readiness: Start-OpenBsdGuest median {o:0.00} s, baseline median {b:0.00} s, ratio {o / b:0.000} (target <= 1.10)");
}

static double ShellBaseline(TestGuestImage.Built image, string state, int port)
{
    string dir = Path.Combine(state, "baseline");
    Directory.CreateDirectory(dir);
    var spec = new GuestLaunchSpec
    {
        Name = "baseline", Architecture = "arm64", Accelerator = "tcg", MemoryMB = 512, CpuCount = 1,
        QemuBinary = "qemu-system-aarch64", FirmwareCode = "/usr/share/AAVMF/AAVMF_CODE.fd", FirmwareVars = dir + "/vars.fd",
        DiskPath = dir + "/disk.qcow2", SshPort = port, SerialLogPath = dir + "/serial.log", QmpSocketPath = dir + "/qmp.sock", PidFile = dir + "/qemu.pid",
    };
    Tools.Sh($"cp /usr/share/AAVMF/AAVMF_VARS.fd {dir}/vars.fd && qemu-img create -q -f qcow2 -b {image.Path} -F qcow2 {dir}/disk.qcow2");
    var sw = Stopwatch.StartNew();
    Tools.Sh(QemuCommandLine.Render(spec) + $" && until ssh-keyscan -T 2 -p {port} 127.0.0.1 2>/dev/null | grep -q ssh-; do sleep 0.05; done");
    double t = sw.Elapsed.TotalSeconds;
    Tools.Sh($"kill $(cat {dir}/qemu.pid); sleep 0.5; rm -rf {dir}", allowFailure: true);
    return t;
}

// Artifact download through the jump: our SFTP download, our full verified artifact fetch
// (hash in the guest while downloading, hash here), and scp -J.
static async Task DownloadAsync(int rounds, int megabytes)
{
    using var rig = new JumpRig();
    string d = rig.Host.Directory;
    string file = Path.Combine(d, "artifact.bin");
    Tools.Sh($"head -c {megabytes << 20} /dev/urandom > {file}");
    var ours = new List<double>();
    var full = new List<double>();
    var scp = new List<double>();
    string dest = Path.Combine(d, "dest");
    for (int i = 0; i < rounds; i++)
    {
        Directory.CreateDirectory(dest);
        var methods = new List<Func<Task>>
        {
            async () =>
            {
                var sw = Stopwatch.StartNew();
                using (var f = new FileStream(Path.Combine(dest, "raw.bin"), FileMode.Create)) await rig.GuestShell.DownloadAsync(file, f, null, default);
                ours.Add(megabytes / sw.Elapsed.TotalSeconds);
            },
            async () =>
            {
                var sw = Stopwatch.StartNew();
                await ArtifactCollector.CollectAsync(rig.GuestShell, "bench", d, new[] { file }, Path.Combine(dest, "collected"), NullReporter.Instance, default);
                full.Add(megabytes / sw.Elapsed.TotalSeconds);
            },
            () =>
            {
                var sw = Stopwatch.StartNew();
                Tools.Sh($"scp -q {rig.Ssh} -P 2222 root@127.0.0.1:{file} {dest}/scp.bin");
                scp.Add(megabytes / sw.Elapsed.TotalSeconds);
                return Task.CompletedTask;
            },
        };
        // Each round starts with another method, so a load that changes during the round favours none.
        for (int k = 0; k < methods.Count; k++) await methods[(k + i) % methods.Count]();
        Console.WriteLine($"round {i + 1}: SFTP download {ours[^1]:0} MB/s, verified artifact fetch {full[^1]:0} MB/s, scp -J {scp[^1]:0} MB/s");
        Directory.Delete(dest, true);
    }
    double o = Median(ours), a = Median(full), s = Median(scp);
    Console.WriteLine($"download {megabytes} MB via jump: ours {o:0} MB/s ({o / s:P0} of scp -J), verified artifact fetch {a:0} MB/s ({a / s:P0}), scp -J {s:0} MB/s");
}

// Source upload through the jump: 20,000 small files (~200 MB) as Invoke-GuestBuild sends them
// (one tar.gz stream), versus tar c | ssh -J ... tar x.
static async Task UploadAsync(int rounds)
{
    using var rig = new JumpRig();
    string tree = Path.Combine(rig.Host.Directory, "tree");
    double mb = Bench.SourceTree(tree, 20_000);
    var ours = new List<double>();
    var baseline = new List<double>();
    for (int i = 0; i < rounds; i++)
    {
        var spec = new BuildSpec { Command = "true", SourcePath = tree, IncludeIgnored = true, MinFreeSpace = 0, WorkingDirectory = $"/tmp/obb-up-{i}", Destination = Path.Combine(rig.Host.Directory, "out") };
        int round = i;
        var methods = new List<Func<Task>>
        {
            async () =>
            {
                var sw = Stopwatch.StartNew();
                await BuildRunner.RunAsync(rig.Guest, spec, NullReporter.Instance, default);
                ours.Add(mb / sw.Elapsed.TotalSeconds);
            },
            () =>
            {
                var sw = Stopwatch.StartNew();
                Tools.Sh($"tar cf - -C {tree} . | ssh {rig.Ssh} -p 2222 root@127.0.0.1 'mkdir -p /tmp/obb-tar-{round} && tar xf - -C /tmp/obb-tar-{round}'");
                baseline.Add(mb / sw.Elapsed.TotalSeconds);
                return Task.CompletedTask;
            },
        };
        // Rotated each round, as for downloads.
        for (int k = 0; k < methods.Count; k++) await methods[(k + i) % methods.Count]();
        Console.WriteLine($"round {i + 1}: Invoke-GuestBuild -Path {ours[^1]:0} MB/s, tar | ssh -J tar {baseline[^1]:0} MB/s");
        Tools.Sh($"rm -rf /tmp/obb-up-{i} /tmp/obb-tar-{i}");
    }
    double o = Median(ours), b = Median(baseline);
    Console.WriteLine($"upload 20,000 files ({mb:0} MB) via jump: ours {o:0} MB/s, tar|ssh -J {b:0} MB/s, ratio {o / b:P0} (target >= 80%)");
}

// Line latency: the guest prints its clock every 100 ms; each InformationRecord's TimeGenerated
// is when the line entered the PowerShell stream. Same clock (the namespace shares it).
static void Latency()
{
    using var rig = new JumpRig();
    using var ps = new PsSession();
    ps.Set("guest", rig.Guest);
    for (int run = 1; run <= 2; run++)
    {
    var r = ps.Run("$guest | Invoke-GuestBuild -MinFreeSpace 0 -Destination ([IO.Path]::GetTempPath() + 'obb-latency') -Command 'for i in $(seq 1 50); do date +%s%N; sleep 0.1; done'");
    if (r.HadErrors) throw new Exception(r.Describe());
    var lat = r.Information.Select(i => (i.TimeGenerated.ToUniversalTime() - DateTime.UnixEpoch).TotalMilliseconds - long.Parse(i.MessageData.ToString()!) / 1e6).ToList();
    var sorted = lat.OrderBy(x => x).ToList();
    Console.WriteLine("per line (ms): " + string.Join(" ", lat.Select(x => x.ToString("0"))));
    Console.WriteLine($"run {run} ({(run == 1 ? "first in a fresh session" : "warm")}): line latency over {lat.Count} lines: median {sorted[sorted.Count / 2]:0.0} ms, p95 {sorted[(int)(sorted.Count * 0.95)]:0.0} ms, max {sorted[^1]:0.0} ms (target <= 100 ms)");
    }
}

sealed class ChunkedStream : MemoryStream
{
    private readonly int _chunk;
    public ChunkedStream(byte[] data, int chunk) : base(data) => _chunk = chunk;
    public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, _chunk));
    public override System.Threading.Tasks.Task<int> ReadAsync(byte[] buffer, int offset, int count, System.Threading.CancellationToken ct) =>
        base.ReadAsync(buffer, offset, Math.Min(count, _chunk), ct);
}
