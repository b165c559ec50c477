using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Build;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

// Measures with real parts, same run, against plain-tool baselines. Prints medians.
string which = args.FirstOrDefault() ?? "all";
int rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
if (which is "readiness" or "all") Readiness(rounds);
if (which is "download" or "all") await DownloadAsync(rounds);

static double Median(List<double> xs) { xs.Sort(); return xs[xs.Count / 2]; }

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

// Artifact download through a jump host: a netns sshd is the host, a second sshd on its
// loopback plays the guest. Ours (SSH.NET SFTP through a forwarded port) versus scp -J.
static async Task DownloadAsync(int rounds)
{
    using var host = new NetnsSshHost();
    string d = host.Directory;
    File.WriteAllText(Path.Combine(d, "guest_sshd_config"), File.ReadAllText(Path.Combine(d, "sshd_config"))
        .Replace($"ListenAddress {host.Address}", "ListenAddress 127.0.0.1").Replace("Port 22", "Port 2222").Replace("sshd.pid", "guest_sshd.pid"));
    host.Exec($"$(command -v sshd || echo /usr/sbin/sshd) -f {d}/guest_sshd_config -E {d}/guest_sshd.log");
    string file = Path.Combine(d, "artifact.bin");
    Tools.Sh($"head -c {200 << 20} /dev/urandom > {file}");
    File.WriteAllText(Path.Combine(d, "ssh_config"),
        $"Host *\n  User root\n  IdentityFile {host.KeyFile}\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n");
    Thread.Sleep(500);

    var jump = await SshShell.ConnectAsync(new SshTarget(host.Address, 22, "root", host.KeyFile, HostKeyPolicy.Pinned(new[] { host.HostKeyFingerprint })), default);
    var guest = await SshShell.ConnectAsync(new SshTarget("127.0.0.1", 2222, "root", host.KeyFile, HostKeyPolicy.Pinned(new[] { host.HostKeyFingerprint })), default, jump);
    var ours = new List<double>();
    var full = new List<double>();
    var scp = new List<double>();
    string dest = Path.Combine(d, "dest");
    for (int i = 0; i < rounds; i++)
    {
        Directory.CreateDirectory(dest);
        var sw = Stopwatch.StartNew();
        using (var f = new FileStream(Path.Combine(dest, "raw.bin"), FileMode.Create)) await guest.DownloadAsync(file, f, null, default);
        ours.Add(200 / sw.Elapsed.TotalSeconds);

        sw.Restart();
        await ArtifactCollector.CollectAsync(guest, "bench", d, new[] { file }, Path.Combine(dest, "collected"), NullReporter.Instance, default);
        full.Add(200 / sw.Elapsed.TotalSeconds);

        sw.Restart();
        Tools.Sh($"scp -q -F {d}/ssh_config -J root@{host.Address} -P 2222 root@127.0.0.1:{file} {dest}/scp.bin");
        scp.Add(200 / sw.Elapsed.TotalSeconds);
        Console.WriteLine($"round {i + 1}: SFTP download {ours[^1]:0} MB/s, verified artifact fetch {full[^1]:0} MB/s, scp -J {scp[^1]:0} MB/s");
        Directory.Delete(dest, true);
    }
    guest.Dispose();
    jump.Dispose();
    double o = Median(ours), a = Median(full), s = Median(scp);
    Console.WriteLine($"download 200 MB via jump: ours {o:0} MB/s ({o / s:P0} of scp -J), verified artifact fetch {a:0} MB/s ({a / s:P0}), scp -J {s:0} MB/s (target >= 70%)");
}
