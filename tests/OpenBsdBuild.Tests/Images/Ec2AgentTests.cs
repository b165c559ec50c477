using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation.Imds;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Images;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Scripts;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;
using Xunit.Abstractions;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>
    /// The EC2 first-boot agent for real: New-OpenBsdImage -Target Ec2 -Kernel on the fixture's installer
    /// (tests/fixtures/guest-image; <see cref="Ec2TestImage"/>), then the image booted twice in QEMU with the IMDSv2 emulator as the
    /// guest's 169.254.169.254:80 (user networking on 169.254.0.0/16, a guestfwd relay to the emulator).
    /// The agent runs from rc.local as on OpenBSD; the test reads the console as New-MetalHost reads an
    /// instance's, logs in with the key only the metadata service knew, pinned to the fingerprints printed
    /// between the markers, and checks that a reboot configures nothing again and runs no user data.
    /// </summary>
    public sealed class Ec2AgentTests : IDisposable
    {
        private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(10);
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-ec2agent-").FullName;
        private readonly ITestOutputHelper _output;

        public Ec2AgentTests(ITestOutputHelper output) => _output = output;

        public void Dispose()
        {
            foreach (var pid in Tools.QemuProcesses(_dir)) Tools.Sh($"kill -9 {pid} || true");
            Directory.Delete(_dir, recursive: true);
        }

        private string NewKey(string name)
        {
            string key = Path.Combine(_dir, name);
            Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -C {name}@test -f '{key}'");
            return key;
        }

        [Fact]
        public void An_ec2_image_configures_itself_over_imdsv2_and_runs_its_user_data_once()
        {
            // New-OpenBsdImage -Target Ec2 -Kernel on the fixture's installer, made once per test process (Ec2TestImage).
            var built = Ec2TestImage.Get();
            var made = built.Made;
            string imageKey = built.ImageKey;
            string kernelSha = built.KernelSha256;
            Assert.False(made.HadErrors, made.Describe());
            var image = made.Single<OpenBsdImage>();
            Assert.Equal(kernelSha, image.KernelSha256);
            Assert.Equal("ec2", image.Target);
            // Each instance makes its own host keys: the image pins none.
            Assert.Empty(image.HostKeyFingerprints);
            Assert.Contains(made.Verbose, v => v.Message.Contains($"SHA-256 {kernelSha}"));
            // The shared image stays pristine: this test's instance writes to an overlay.
            string disk = Path.Combine(_dir, "instance.qcow2");
            Tools.Sh($"qemu-img create -q -f qcow2 -b '{built.Path}' -F qcow2 '{disk}'");

            string instanceKey = NewKey("instance");
            string userData = "#!/bin/sh\n" +
                              Ec2Agent.SelfDestructLine(TimeSpan.FromMinutes(45)) + "\n" +
                              "echo \"user-data ran as $(id -un)\"\n" +
                              "echo \"kernel $(sha256 -q /bsd) original $(sha256 -q /bsd.orig | cut -c1-12)\"\n" +
                              "grep reorder_kernel /etc/rc\n";
            var instance = new ImdsInstance
            {
                InstanceId = "i-0e2a9c1b7d3f45a60",
                LocalHostname = "ip-10-0-1-23.eu-west-1.compute.internal",
                PublicKey = ("obb-ephemeral", File.ReadAllText(instanceKey + ".pub").Trim()),
                UserData = Encoding.UTF8.GetBytes(userData),
            };
            using var vm = new AgentGuest(_dir, disk, instance, _output);

            // First boot.
            string first = vm.Boot("boot1", until: "openbsdbuild-agent: the user data exited with status");
            var fingerprints = ConsoleFingerprints.Parse(first);
            Assert.True(fingerprints.Count == 1, first);
            Assert.Contains($"openbsdbuild-agent: first boot of instance {instance.InstanceId}", first);
            Assert.Contains($"openbsdbuild-agent: hostname {instance.LocalHostname}", first);
            Assert.Contains("openbsdbuild-agent: self-destruct armed: power-off in 45 minutes", first);
            // Armed before the fingerprints, which is when New-OpenBsdInstance calls the instance ready; the script runs after them.
            Assert.True(first.IndexOf("self-destruct armed", StringComparison.Ordinal) < first.IndexOf(ConsoleFingerprints.Begin, StringComparison.Ordinal), first);
            Assert.True(first.LastIndexOf(ConsoleFingerprints.End, StringComparison.Ordinal) < first.IndexOf("running the user data", StringComparison.Ordinal), first);
            Assert.Single(Regex.Matches(first, "user-data ran as root"));
            Assert.Contains($"kernel {kernelSha} original ", first);
            Assert.Contains("# /usr/libexec/reorder_kernel &", first);
            Assert.Contains("openbsdbuild-agent: the user data exited with status 0", first);

            // The instance's key logs the build user in, to a host that shows the key printed on the console.
            using (var ssh = vm.Connect("builder", instanceKey, fingerprints))
            {
                Assert.Equal(instance.LocalHostname, ssh.RunAsync("hostname", CancellationToken.None).Result.Stdout.Trim());
                var listed = ssh.RunAsync("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub", CancellationToken.None).Result;
                Assert.True(listed.Stdout.Contains(fingerprints[0] + " "), $"ssh-keygen -lf printed '{listed.Stdout}', and on stderr '{listed.Stderr}'");
                // The agent restarted sshd from root's session (class daemon: 4096M); the build user's login still gets
                // its own class's limits (openbsdbuild: datasize=infinity), as setusercontext(3) sets them as root.
                var limits = ssh.RunAsync("echo datasize=$(ulimit -d)/$(ulimit -H -d)", CancellationToken.None).Result;
                Assert.True(limits.Stdout.Trim() == "datasize=unlimited/unlimited" && limits.Stderr.Trim() == "",
                    $"printed '{limits.Stdout.Trim()}', and on stderr '{limits.Stderr.Trim()}'");
                // The image's own key still works too; the self-destruct waits in the background.
                Assert.Contains("sleep 2700", ssh.RunAsync("ps -o args", CancellationToken.None).Result.Stdout);
            }
            using (vm.Connect("builder", imageKey, fingerprints)) { }
            vm.PowerOff();

            // Second boot of the same instance: nothing is configured again, the user data does not run again,
            // the same host key is printed (and is the one sshd presents).
            string second = vm.Boot("boot2");
            Assert.Equal(fingerprints, ConsoleFingerprints.Parse(second));
            Assert.DoesNotContain("first boot of instance", second);
            Assert.DoesNotContain("user-data ran", second);
            Assert.DoesNotContain("running the user data", second);
            using (var ssh = vm.Connect("builder", instanceKey, fingerprints))
                Assert.Equal(instance.LocalHostname, ssh.RunAsync("hostname", CancellationToken.None).Result.Stdout.Trim());
            vm.PowerOff();

            // IMDSv2 all along: a token first, and no GET without one (the emulator would have answered 401).
            var requests = vm.Imds.Requests;
            Assert.Equal("PUT", requests[0].Method);
            Assert.Contains(requests, r => r.Path == "/latest/meta-data/public-keys/0/openssh-key" && r.Status == 200);
            Assert.All(requests.Where(r => r.Method == "GET"), r => Assert.True(r.HadToken, $"GET {r.Path} without a token"));
            Assert.DoesNotContain(requests, r => r.Status == 401);
            Assert.Single(requests, r => r.Path == "/latest/user-data");
        }

        /// <summary>
        /// An image booted in QEMU as an EC2 instance would be: the module's flags (QemuCommandLine), user
        /// networking on 169.254.0.0/16 with the instance's metadata service at 169.254.169.254:80, the console
        /// in a file (what GetConsoleOutput would show).
        /// </summary>
        private sealed class AgentGuest : IDisposable
        {
            private readonly string _dir;
            private readonly string _disk;
            private readonly int _sshPort = FreePort.OnLoopback();
            private string _qmp = "";
            private string _pidFile = "";
            private readonly ITestOutputHelper _output;

            public AgentGuest(string dir, string disk, ImdsInstance instance, ITestOutputHelper output)
            {
                _dir = dir;
                _disk = disk;
                _output = output;
                Imds = ImdsEmulator.Start(instance);
            }

            public ImdsEmulator Imds { get; }

            /// <summary>Boots the disk and returns the console once the agent has printed its fingerprints (and <paramref name="until"/> is on it).</summary>
            public string Boot(string name, string? until = null)
            {
                string vars = Path.Combine(_dir, name + "-vars.fd");
                File.Copy("/usr/share/AAVMF/AAVMF_VARS.fd", vars, overwrite: true);
                string serial = Path.Combine(_dir, name + "-serial.log");
                _qmp = Path.Combine(_dir, name + ".qmp");
                _pidFile = Path.Combine(_dir, name + ".pid");
                var args = QemuCommandLine.Build(new GuestLaunchSpec
                {
                    Name = "obb-ec2agent-" + name,
                    QemuBinary = "qemu-system-aarch64",
                    FirmwareCode = "/usr/share/AAVMF/AAVMF_CODE.fd",
                    FirmwareVars = vars,
                    DiskPath = _disk,
                    MemoryMB = 512,
                    CpuCount = 1,
                    SshPort = _sshPort,
                    SerialLogPath = serial,
                    QmpSocketPath = _qmp,
                    PidFile = _pidFile,
                }).ToList();
                int netdev = args.IndexOf("-netdev") + 1;
                string relay = "perl " + Path.Combine(Repo.Root, "tests", "fixtures", "imds", "guestfwd-connect.pl");
                args[netdev] = args[netdev].Replace("user,id=net0,", "user,id=net0,net=169.254.0.0/16," + Imds.GuestForwardRule(relay) + ",");
                Tools.Sh(ShellQuote.Join(args));
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (true)
                {
                    string console = File.Exists(serial) ? File.ReadAllText(serial) : "";
                    bool printed = console.Contains(ConsoleFingerprints.End);
                    // The user data script runs after the fingerprints: wait for its end when this boot runs one.
                    bool userDataDone = until == null || console.Contains(until);
                    if (printed && userDataDone && Regex.IsMatch(console, @"login: "))
                    {
                        // A number for docs/choosing-a-host.md, not an assertion: QEMU start to the agent's last line (TCG).
                        _output.WriteLine($"{name}: QEMU start to login prompt after the agent: {clock.Elapsed.TotalSeconds:F1} s");
                        return console;
                    }
                    if (clock.Elapsed > BootTimeout)
                        throw new TimeoutException($"{name}: the agent did not finish within {BootTimeout}; console:\n{console}");
                    Thread.Sleep(1000);
                }
            }

            public SshShell Connect(string user, string keyFile, IReadOnlyList<string> fingerprints) =>
                SshShell.ConnectAsync(new SshTarget("127.0.0.1", _sshPort, user, keyFile, HostKeyPolicy.Pinned(fingerprints)), CancellationToken.None).Result;

            /// <summary>ACPI power button (the fixture saves its state on the way down), then waits for QEMU to exit.</summary>
            public void PowerOff()
            {
                Tools.Sh(GuestControl.QmpCommand(_qmp, "system_powerdown"));
                int pid = int.Parse(File.ReadAllText(_pidFile).Trim());
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (Tools.IsQemu(pid, _pidFile))
                {
                    if (clock.Elapsed > TimeSpan.FromMinutes(3)) throw new TimeoutException("QEMU did not exit after the power button.");
                    Thread.Sleep(500);
                }
            }

            public void Dispose()
            {
                if (File.Exists(_pidFile) && int.TryParse(File.ReadAllText(_pidFile).Trim(), out int pid)) Tools.KillQemu(pid, _pidFile);
                Imds.DisposeAsync().AsTask().Wait();
            }
        }
    }
}
