using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Emulation.Imds;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Scripts;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// The native road as New-OpenBsdInstance meets it: the EC2 emulator over the real AWS SDK, an
    /// OpenBSD AMI in it, and for every instance of that AMI that turns running a real QEMU guest
    /// booted from the test fixture image, whose SSH is the instance's port 22 at an address of its
    /// own (127.77.x.y, so no two instances share one). Termination kills the guest; a guest that
    /// powers itself off shuts its instance down (and so terminates it, with shutdown behaviour terminate).
    /// Two kinds of instance:
    /// <list type="bullet">
    /// <item>of the seeded <see cref="ImageId"/>: the test guest image (no agent), for which the lab does the
    /// agent's two visible jobs itself once the guest's SSH answers: it installs the instance's public key for
    /// the build user and adds the host key fingerprints between the markers to the console output;</item>
    /// <item>of an AMI Register-OpenBsdAmi made in the emulator (with <c>objectStore</c>): the root volume's
    /// snapshot, i.e. the raw disk the import read from S3, under a qcow2 overlay, with the instance's own
    /// IMDSv2 emulator (<see cref="Ec2Emulator.MetadataOf"/>) at 169.254.169.254:80, so the image's first-boot
    /// agent does everything itself; the console is the guest's serial console and nothing else.</item>
    /// </list>
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
            /// <summary>Its guest has ended (killed or powered off): an instance boots once.</summary>
            public volatile bool Ended;
            /// <summary>The instance's metadata service, for instances of a registered AMI.</summary>
            public ImdsEmulator? Imds;
            /// <summary>What that metadata service was asked, kept when it stops with the instance.</summary>
            public IReadOnlyList<ImdsRequest> ImdsRequests = Array.Empty<ImdsRequest>();
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
            emulator.AddressProvider = i => (i.ImageId != Amd64ImageId ? AddressFor(i.InstanceId) : null, null);
            emulator.ConsoleOutputProvider = Console;
            _loop = Task.Run(LoopAsync);
        }

        /// <param name="objectStore">The S3 endpoint (s3rver) Register-OpenBsdAmi stages disks in, for instances of registered AMIs.</param>
        public static async Task<NativeInstanceLab> StartAsync(Uri? objectStore = null) =>
            new NativeInstanceLab(await Ec2Emulator.StartAsync(new Ec2EmulatorOptions { ObjectStore = objectStore }));

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
                    if (!_booted.TryGetValue(i.InstanceId, out var b)) continue;
                    try
                    {
                        if (i.State == EmulatedInstanceState.ShuttingDown || i.State == EmulatedInstanceState.Terminated)
                        {
                            if (b.Pid.HasValue || b.Imds != null) Kill(b);
                        }
                        else if (i.State == EmulatedInstanceState.Running && b.Pid == null && !b.Ended && BootInstances)
                        {
                            if (i.ImageId == ImageId) Boot(b);
                            else if (Emulator.RootDiskOf(i.InstanceId) is { } disk) BootAmi(i, b, disk);
                        }
                        else if (i.State == EmulatedInstanceState.Running && b.Pid.HasValue && !Alive(b))
                        {
                            // The guest powered itself off: on EC2 that is an instance-initiated shutdown.
                            b.Pid = null;
                            b.Ended = true;
                            Emulator.ShutdownFromInstance(i.InstanceId);
                        }
                        else if (i.State == EmulatedInstanceState.Running && b.Pid.HasValue && b.Imds == null && !b.AgentDone && File.Exists(b.SerialLog) &&
                                 File.ReadAllText(b.SerialLog).Contains("TESTGUEST: ssh ready"))
                            ActAsAgent(i, b);
                    }
                    catch (Exception ex) when (!(ex is OutOfMemoryException))
                    {
                        File.AppendAllText(Path.Combine(Directory, "lab.log"), $"{i.InstanceId}: {ex}\n");
                    }
                }
                try { await Task.Delay(200, _stop.Token); } catch (OperationCanceledException) { }
            }
        }

        private void Boot(Booted b) => StartGuest(b, Image.Path, "qcow2", null);

        /// <summary>An instance of a registered AMI: its root volume is a copy of the snapshot, its metadata service its own.</summary>
        private void BootAmi(EmulatedInstance i, Booted b, string snapshotDisk)
        {
            b.Imds = ImdsEmulator.Start(Emulator.MetadataOf(i.InstanceId));
            string relay = "perl " + Path.Combine(Repo.Root, "tests", "fixtures", "imds", "guestfwd-connect.pl");
            StartGuest(b, snapshotDisk, "raw", "net=169.254.0.0/16," + b.Imds.GuestForwardRule(relay) + ",");
        }

        private void StartGuest(Booted b, string backing, string backingFormat, string? network)
        {
            var firmware = Firmware.FindAsync(new LocalShell(), "arm64", null, null, CancellationToken.None).GetAwaiter().GetResult();
            string disk = Path.Combine(b.Directory, "disk.qcow2");
            string vars = Path.Combine(b.Directory, "vars.fd");
            Tools.Sh($"qemu-img create -q -f qcow2 -b '{backing}' -F {backingFormat} '{disk}' && cp '{firmware.VarsTemplate}' '{vars}'");
            var spec = new GuestLaunchSpec
            {
                Name = "native-" + Path.GetFileName(b.Directory), Architecture = "arm64", Accelerator = "tcg", MemoryMB = 512, CpuCount = 1,
                QemuBinary = "qemu-system-aarch64", FirmwareCode = firmware.Code, FirmwareVars = vars, DiskPath = disk, SshPort = 22,
                SerialLogPath = b.SerialLog, QmpSocketPath = Path.Combine(b.Directory, "qmp.sock"), PidFile = Path.Combine(b.Directory, "qemu.pid"),
            };
            // The instance's own address, port 22: what EC2 would give it (the module's guests bind 127.0.0.1 only).
            var args = QemuCommandLine.Build(spec).Select(a => a.Replace("hostfwd=tcp:127.0.0.1:22-:22", $"hostfwd=tcp:{b.Address}:22-:22")).ToList();
            if (network != null)
            {
                // The metadata service at 169.254.169.254:80, as on EC2 (guestfwd needs its address inside the guest network).
                int netdev = args.IndexOf("-netdev") + 1;
                args[netdev] = args[netdev].Replace("user,id=net0,", "user,id=net0," + network);
            }
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
            if (b.Pid.HasValue) Tools.KillQemu(b.Pid.Value, b.Directory);
            b.Pid = null;
            b.Ended = true;
            if (b.Imds != null)
            {
                b.ImdsRequests = b.Imds.Requests;
                b.Imds.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(10));
                b.Imds = null;
            }
        }

        /// <summary>What the agent of an instance of a registered AMI asked its metadata service, and got (also after it ended).</summary>
        public IReadOnlyList<ImdsRequest> MetadataRequestsOf(string instanceId) =>
            !_booted.TryGetValue(instanceId, out var b) ? Array.Empty<ImdsRequest>() : b.Imds?.Requests ?? b.ImdsRequests;

        /// <summary>The console of an instance as its guest wrote it (the serial log), or "".</summary>
        public string SerialConsoleOf(string instanceId) =>
            _booted.TryGetValue(instanceId, out var b) && File.Exists(b.SerialLog) ? File.ReadAllText(b.SerialLog) : "";

        // A zombie's command line is empty: it does not count.
        private static bool Alive(Booted b) => b.Pid.HasValue && Tools.IsQemu(b.Pid.Value, b.Directory);

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
            while (_booted.Values.Any(Alive) && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(100);
            Assert.True(!_booted.Values.Any(Alive), "guests left" + context);
            string keys = Path.Combine(Path.GetTempPath(), "openbsdbuild-keys");
            var names = Emulator.Instances.Values.Select(i => i.Tags.TryGetValue("Name", out var n) ? n : null).Where(n => n != null).ToList();
            if (System.IO.Directory.Exists(keys))
                Assert.DoesNotContain(System.IO.Directory.GetDirectories(keys).Select(Path.GetFileName), d => names.Any(n => d!.Contains(n!)));
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _loop;
            foreach (var b in _booted.Values.Where(b => b.Pid.HasValue || b.Imds != null)) Kill(b);
            var bugs = Emulator.UnhandledExceptions;
            await Emulator.DisposeAsync();
            try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
            Assert.Empty(bugs);
        }
    }
}
