using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Scripts;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// The native road as New-OpenBsdInstance meets it: the EC2 emulator over the real AWS SDK, an
    /// OpenBSD AMI in it, and for every instance of that AMI that turns running a real QEMU guest
    /// booted from the test fixture image, whose SSH is the instance's port 22 at an address of its
    /// own (127.77.x.y, so no two instances share one). Termination kills the guest.
    /// Until the first-boot agent is in the fixture image, the lab does the agent's two visible
    /// jobs itself once the guest's SSH answers: it installs the instance's public key for the
    /// build user and adds the host key fingerprints between the markers to the console output
    /// (which otherwise is the guest's real serial console).
    /// </summary>
    public sealed class NativeInstanceLab : IAsyncDisposable
    {
        private static int _labs;
        private readonly ConcurrentDictionary<string, Booted> _booted = new ConcurrentDictionary<string, Booted>();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly Task _loop;
        private readonly int _lab;
        private int _addresses;

        private sealed class Booted
        {
            public string Directory = "";
            public string Address = "";
            public int? Pid;
            public volatile bool AgentDone;
            public string SerialLog => Path.Combine(Directory, "serial.log");
        }

        private NativeInstanceLab(Ec2Emulator emulator)
        {
            Emulator = emulator;
            Image = TestGuestImage.Get();
            _lab = (Environment.ProcessId * 13 + Interlocked.Increment(ref _labs)) % 250 + 1;
            Directory = System.IO.Directory.CreateTempSubdirectory("obb-native-").FullName;
            emulator.AddImage(new EmulatedImage(ImageId, "us-east-1", "openbsd-7.8-arm64-ena", "123456789012", "arm64",
                DateTimeOffset.UtcNow.AddDays(-1), Description: "OpenBSD 7.8 arm64 with ena(4) (test fixture)"));
            emulator.AddImage(new EmulatedImage(Amd64ImageId, "us-east-1", "openbsd-7.8-amd64", "123456789012", "x86_64",
                DateTimeOffset.UtcNow.AddDays(-1)));
            emulator.AddressProvider = i => (i.ImageId == ImageId ? AddressFor(i.InstanceId) : null, null);
            emulator.ConsoleOutputProvider = Console;
            _loop = Task.Run(LoopAsync);
        }

        public static async Task<NativeInstanceLab> StartAsync() => new NativeInstanceLab(await Ec2Emulator.StartAsync(new Ec2EmulatorOptions()));

        public const string ImageId = "ami-0a1b2c3d4e5f60718";
        public const string Amd64ImageId = "ami-0f1e2d3c4b5a69788";

        public Ec2Emulator Emulator { get; }
        public TestGuestImage.Built Image { get; }
        public string Directory { get; }

        /// <summary>False: instances run but never boot (no guest, an empty console).</summary>
        public bool BootInstances { get; set; } = true;

        public string Aws => $"-Region us-east-1 -AccessKey AKIDEXAMPLE -SecretKey secret -EndpointUrl '{Emulator.Endpoint}'";

        /// <summary>What every test passes: its AWS, the build user the fixture image has, and a fixed caller address.</summary>
        public string Launch => $"{Aws} -AllowedCidr 198.51.100.7/32 -User build";

        public string InstanceId => Emulator.Instances.Keys.Single();

        private string AddressFor(string instanceId)
        {
            var b = _booted.GetOrAdd(instanceId, _ => new Booted
            {
                Address = $"127.77.{_lab}.{Interlocked.Increment(ref _addresses) % 250 + 2}",
                Directory = System.IO.Directory.CreateDirectory(Path.Combine(Directory, instanceId)).FullName,
            });
            return b.Address;
        }

        private string? Console(EmulatedInstance i)
        {
            if (!_booted.TryGetValue(i.InstanceId, out var b) || !File.Exists(b.SerialLog)) return null;
            string text;
            try
            {
                using var f = new FileStream(b.SerialLog, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                text = new StreamReader(f).ReadToEnd();
            }
            catch (IOException) { return null; }
            if (b.AgentDone) text += ConsoleText.With(Image.HostKeyFingerprint);
            return text.Length == 0 ? null : text;
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                foreach (var i in Emulator.Instances.Values)
                {
                    if (i.ImageId != ImageId || !_booted.TryGetValue(i.InstanceId, out var b)) continue;
                    try
                    {
                        if (i.State == EmulatedInstanceState.Running && b.Pid == null && BootInstances) Boot(b);
                        else if (i.State == EmulatedInstanceState.Running && b.Pid.HasValue && !b.AgentDone && File.Exists(b.SerialLog) &&
                                 File.ReadAllText(b.SerialLog).Contains("TESTGUEST: ssh ready"))
                            ActAsAgent(i, b);
                        else if ((i.State == EmulatedInstanceState.ShuttingDown || i.State == EmulatedInstanceState.Terminated) && b.Pid.HasValue)
                            Kill(b);
                    }
                    catch (Exception ex) when (!(ex is OutOfMemoryException))
                    {
                        File.AppendAllText(Path.Combine(Directory, "lab.log"), $"{i.InstanceId}: {ex}\n");
                    }
                }
                try { await Task.Delay(200, _stop.Token); } catch (OperationCanceledException) { }
            }
        }

        private void Boot(Booted b)
        {
            var firmware = Firmware.FindAsync(new LocalShell(), "arm64", null, null, CancellationToken.None).GetAwaiter().GetResult();
            string disk = Path.Combine(b.Directory, "disk.qcow2");
            string vars = Path.Combine(b.Directory, "vars.fd");
            Tools.Sh($"qemu-img create -q -f qcow2 -b '{Image.Path}' -F qcow2 '{disk}' && cp '{firmware.VarsTemplate}' '{vars}'");
            var spec = new GuestLaunchSpec
            {
                Name = "native-" + Path.GetFileName(b.Directory), Architecture = "arm64", Accelerator = "tcg", MemoryMB = 512, CpuCount = 1,
                QemuBinary = "qemu-system-aarch64", FirmwareCode = firmware.Code, FirmwareVars = vars, DiskPath = disk, SshPort = 22,
                SerialLogPath = b.SerialLog, QmpSocketPath = Path.Combine(b.Directory, "qmp.sock"), PidFile = Path.Combine(b.Directory, "qemu.pid"),
            };
            // The instance's own address, port 22: what EC2 would give it (the module's guests bind 127.0.0.1 only).
            var args = QemuCommandLine.Build(spec).Select(a => a.Replace("hostfwd=tcp:127.0.0.1:22-:22", $"hostfwd=tcp:{b.Address}:22-:22")).ToList();
            Tools.Sh(ShellQuote.Join(args));
            b.Pid = int.Parse(File.ReadAllText(spec.PidFile).Trim());
        }

        /// <summary>The agent's visible jobs, done from outside until the fixture image has the agent.</summary>
        private void ActAsAgent(EmulatedInstance i, Booted b)
        {
            var key = Emulator.KeyPairs.Values.FirstOrDefault(k => k.KeyName == i.KeyName && k.Region == i.Region);
            if (key != null)
            {
                string line = key.PublicKey.Trim();
                string added = Tools.Sh($"echo {ShellQuote.Quote(line)} | ssh -q -i {Image.KeyFile} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null " +
                                        $"-o ConnectTimeout=10 root@{b.Address} 'cat >> /home/build/.ssh/authorized_keys && echo added'", allowFailure: true);
                if (!added.Contains("added")) return; // SSH not quite there yet: next round
            }
            b.AgentDone = true;
        }

        private static void Kill(Booted b)
        {
            Tools.Sh($"kill -9 {b.Pid} 2>/dev/null; true", allowFailure: true);
            b.Pid = null;
        }

        private static bool Alive(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");

        /// <summary>Nothing left: every instance terminated, no group or key pair, no guest running, no key file.</summary>
        public void AssertNothingLeft(Harness.PsResult? seen = null)
        {
            Ec2Teardown.WhenPendingDone().Wait(TimeSpan.FromSeconds(30));
            string context = seen == null ? "" : "\n" + seen.Describe();
            Assert.True(Emulator.Instances.Values.All(i => i.State == EmulatedInstanceState.Terminated), "instances left" + context);
            Assert.True(!Emulator.SecurityGroups.Values.Any(g => !g.IsDefault), "security groups left" + context);
            Assert.True(Emulator.KeyPairs.Values.All(k => k.KeyName == "fixture"), "key pairs left" + context);
            // The loop kills a terminated instance's guest within a round.
            var clock = Stopwatch.StartNew();
            while (_booted.Values.Any(b => b.Pid.HasValue && Alive(b.Pid.Value)) && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
            Assert.True(!_booted.Values.Any(b => b.Pid.HasValue && Alive(b.Pid.Value)), "guests left" + context);
            string keys = Path.Combine(Path.GetTempPath(), "openbsdbuild-keys");
            var names = Emulator.Instances.Values.Select(i => i.Tags.TryGetValue("Name", out var n) ? n : null).Where(n => n != null).ToList();
            if (System.IO.Directory.Exists(keys))
                Assert.DoesNotContain(System.IO.Directory.GetDirectories(keys).Select(Path.GetFileName), d => names.Any(n => d!.Contains(n!)));
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _loop;
            foreach (var b in _booted.Values.Where(b => b.Pid.HasValue)) Kill(b);
            var bugs = Emulator.UnhandledExceptions;
            await Emulator.DisposeAsync();
            try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
            Assert.Empty(bugs);
        }
    }
}
