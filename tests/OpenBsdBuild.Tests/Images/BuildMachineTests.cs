using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Hosts;
using OpenBsdBuild.Images.Installer;
using OpenBsdBuild.Images;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>
    /// The image build's machinery with a real QEMU: the test guest stands in for OpenBSD (which
    /// cannot be installed here) on the build machine's disk, with install media attached first,
    /// the serial console on a loopback socket read by the engine, host keys taken from that console
    /// to pin SSH, the response server reached from the guest as 10.0.2.2, power-off seen as the
    /// console closing, and the finish phase flattening the disk.
    /// </summary>
    public sealed class BuildMachineTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-buildmachine-").FullName;

        private NetnsSshHost? _remote;

        public void Dispose()
        {
            _remote?.Dispose();
            foreach (var pid in Tools.QemuProcesses(_dir)) Tools.Sh($"kill -9 {pid} || true");
            Directory.Delete(_dir, recursive: true);
        }

        /// <summary>This machine, or a remote host over SSH (a private sshd in a network namespace, running QEMU there).</summary>
        private async Task<Model.MetalHost> HostAsync(bool overSsh, IOperationReporter reporter)
        {
            string state = Path.Combine(_dir, "state");
            if (!overSsh) return await HostConnector.ConnectLocalAsync(state, reporter, CancellationToken.None);
            _remote = new NetnsSshHost();
            var target = new SshTarget(_remote.Address, 22, "root", _remote.KeyFile, HostKeyPolicy.Pinned(new[] { _remote.HostKeyFingerprint }));
            return await HostConnector.ConnectSshAsync(target, state, reporter, CancellationToken.None);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task A_real_qemu_is_driven_through_its_socket_console_and_reaches_the_response_server_as_10_0_2_2(bool overSsh)
        {
            var guestImage = TestGuestImage.Get();
            var reporter = new Cloud.RecordingReporter();
            var host = await HostAsync(overSsh, reporter);
            var request = new ImageBuildRequest { Version = "7.8", Architecture = "arm64", MemoryMB = 512, CpuCount = 1 };
            string work = Path.Combine(_dir, "work");
            using var machine = await BuildMachine.PrepareAsync(host, request, work, reporter, CancellationToken.None);
            Assert.Contains("virtual size: 32 GiB", Tools.Sh($"qemu-img info '{machine.DiskPath}'"));
            // The test guest in place of an installed OpenBSD.
            Tools.Sh($"qemu-img create -q -f qcow2 -b '{guestImage.Path}' -F qcow2 '{machine.DiskPath}' 32G");
            string media = Path.Combine(_dir, "install78.img");
            File.WriteAllBytes(media, new byte[3 * 1024 * 1024]);

            using var server = ResponseServer.Start(reporter);
            server.Add("install.conf", "System hostname = probe\n");
            // On a remote host the guest's 10.0.2.2 is that host's loopback: a reverse forward brings it here.
            using var exposed = await host.Shell.ExposeLocalPortAsync(server.Port, CancellationToken.None);
            server.GuestPort = exposed.Port;
            Assert.Equal(overSsh, exposed.Port != server.Port);
            var boot = await machine.LaunchAsync("probe", media, reporter, CancellationToken.None);
            try
            {
                string fingerprint;
                using (var console = await SerialConsole.ConnectAsync(host.Shell, boot.SerialPort, CancellationToken.None))
                {
                    var key = await console.WaitForAsync(new Regex(@"TESTGUEST: host key (SHA256:\S+)\r?\n"), TimeSpan.FromMinutes(3), "the host key line", CancellationToken.None);
                    fingerprint = key.Groups[1].Value;
                    await console.WaitForAsync(new Regex("TESTGUEST: ssh ready"), TimeSpan.FromMinutes(1), "ssh", CancellationToken.None);
                    Assert.Equal(guestImage.HostKeyFingerprint, fingerprint);

                    // SSH pinned to what the console said, as the first boot does.
                    var target = new SshTarget("127.0.0.1", boot.SshPort, "root", guestImage.KeyFile, HostKeyPolicy.Pinned(new[] { fingerprint }));
                    using (var ssh = await SshShell.ConnectAsync(target, CancellationToken.None, overSsh ? host.Shell : null))
                    {
                        var fetched = await ssh.RunAsync($"wget -q -O - {server.Url("install.conf")}?path=7.8/arm64", CancellationToken.None);
                        Assert.True(fetched.Succeeded, fetched.Message);
                        Assert.Equal("System hostname = probe", fetched.Stdout.Trim());
                        // The media is the first disk on the bus (the installer's sd0), the target the second.
                        var sizes = await ssh.RunAsync("cat /sys/block/vda/size /sys/block/vdb/size", CancellationToken.None);
                        Assert.Equal(new[] { (3 * 1024 * 1024 / 512).ToString(), (32L << 30) / 512 + "" }, sizes.Stdout.Trim().Split('\n'));
                        await ssh.RunAsync("poweroff", CancellationToken.None);
                    }
                    Assert.True(server.Served("install.conf"));

                    // Power-off closes the console: that is how the end of an install is seen.
                    var closed = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                        console.WaitForAsync(new Regex("never printed"), TimeSpan.FromMinutes(2), "power-off", CancellationToken.None));
                    Assert.Equal("ConsoleClosed", closed.ErrorId);
                    Assert.Contains("TESTGUEST: ssh ready", closed.Message);
                }
                await boot.WaitForExitAsync(TimeSpan.FromMinutes(1), CancellationToken.None);
            }
            finally
            {
                await boot.DestroyAsync();
            }
            Assert.Empty(Tools.QemuProcesses(_dir));
            Assert.False(Directory.Exists(Path.Combine(work, "probe")));

            // The finish phase flattens the overlay chain into one compressed image.
            string output = Path.Combine(_dir, "out", "probe.qcow2");
            var image = await ImageFinisher.FinishAsync(host, machine.DiskPath, output, new ImageMetadata { Version = "7.8", Architecture = "arm64" },
                reporter, CancellationToken.None);
            Assert.DoesNotContain("backing file", Tools.Sh($"qemu-img info '{output}'"));
            // The output is larger (the build disk's 32 GiB); qemu-img compare checks that the extra is all zeros.
            Assert.EndsWith("Images are identical.", Tools.Sh($"qemu-img compare '{guestImage.Path}' '{output}' 2>&1").Trim());
            Assert.Equal(image.Sha256, TestImagesHash(output));

            // The build's root key lived only on this machine, and only while the machine did.
            string rootKey = machine.RootKeyFile;
            Assert.True(File.Exists(rootKey));
            machine.Dispose();
            Assert.False(File.Exists(rootKey));
            // The reverse forward closes before the session that carries it, as in ImageBuilder.
            exposed.Dispose();
            server.Dispose();
            host.Shell.Dispose();
        }

        [Fact]
        public async Task A_console_that_never_shows_the_awaited_text_times_out_with_the_transcript()
        {
            var reporter = new Cloud.RecordingReporter();
            var host = await HostConnector.ConnectLocalAsync(Path.Combine(_dir, "state"), reporter, CancellationToken.None);
            var machine = await BuildMachine.PrepareAsync(host, new ImageBuildRequest { Version = "7.8", MemoryMB = 512, CpuCount = 1 },
                Path.Combine(_dir, "work"), reporter, CancellationToken.None);
            // An empty disk: the firmware prints, then nothing boots, so the installer's question never comes.
            var boot = await machine.LaunchAsync("empty", null, reporter, CancellationToken.None);
            try
            {
                using var console = await SerialConsole.ConnectAsync(host.Shell, boot.SerialPort, CancellationToken.None);
                var e = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                    console.WaitForAsync(new Regex(@"\(I\)nstall, \(U\)pgrade"), TimeSpan.FromSeconds(20), "the installer's first question", CancellationToken.None));
                Assert.Equal("ConsoleTimeout", e.ErrorId);
                Assert.Equal(FailureKind.OperationTimeout, e.Kind);
                Assert.Contains("the installer's first question", e.Message);
                Assert.Contains("Console transcript", e.Message);
            }
            finally
            {
                await boot.DestroyAsync();
            }
            Assert.Empty(Tools.QemuProcesses(_dir));
        }

        [Fact]
        public async Task A_guest_that_halts_without_powering_down_gets_a_key_and_its_qemu_exits()
        {
            // A plain halt on OpenBSD/arm64 prints "Please press any key to reboot." and waits on the console
            // (machdep.c boot()); the fixture system's last shutdown action (halt-wait) does the same, and under
            // -no-reboot the reset that follows the key ends QEMU. The wait for the end of an install must press
            // that key. The test guest boots quicker than an installed fixture system, so halt-wait runs there.
            var guestImage = TestGuestImage.Get();
            var reporter = new Cloud.RecordingReporter();
            var host = await HostConnector.ConnectLocalAsync(Path.Combine(_dir, "state"), reporter, CancellationToken.None);
            var request = new ImageBuildRequest { Version = "7.8", Architecture = "arm64", MemoryMB = 512, CpuCount = 1 };
            using var machine = await BuildMachine.PrepareAsync(host, request, Path.Combine(_dir, "work"), reporter, CancellationToken.None);
            Tools.Sh($"qemu-img create -q -f qcow2 -b '{guestImage.Path}' -F qcow2 '{machine.DiskPath}' 32G");
            var boot = await machine.LaunchAsync("halt", null, reporter, CancellationToken.None);
            try
            {
                using var console = await SerialConsole.ConnectAsync(host.Shell, boot.SerialPort, CancellationToken.None);
                await console.WaitForAsync(new Regex("TESTGUEST: ssh ready"), TimeSpan.FromMinutes(4), "ssh", CancellationToken.None);
                string haltWait = Path.Combine(Harness.Repo.Root, "tests", "fixtures", "guest-image", "guest", "usr", "libexec", "openbsd", "halt-wait");
                string ssh = $"ssh -q -i '{guestImage.KeyFile}' -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p {boot.SshPort} root@127.0.0.1";
                Tools.Sh($"{ssh} 'cat > /tmp/halt-wait' < '{haltWait}'");
                // As after a plain halt: the marker the fixture's halt leaves, then halt-wait owns the console.
                Tools.Sh($"{ssh} 'mkdir -p /run && : > /run/obb-halted && setsid sh /tmp/halt-wait </dev/null >/dev/null 2>&1 &'");

                await ImageBuilder.WaitForPowerOffAsync(console, TimeSpan.FromMinutes(4), "the guest to go down", CancellationToken.None);

                // The key went after the halt text, and the guest reset on it (the console closed: no timeout, no failure).
                var entries = console.Transcript.Entries.ToList();
                int halted = entries.FindIndex(e => e.Direction == TranscriptDirection.Received && e.Text.Contains("Please press any key to reboot."));
                Assert.True(halted >= 0, console.Transcript.Tail());
                Assert.Contains(entries.Skip(halted), e => e.Direction == TranscriptDirection.Sent);
                await boot.WaitForExitAsync(TimeSpan.FromMinutes(1), CancellationToken.None);
            }
            finally
            {
                await boot.DestroyAsync();
            }
            Assert.Empty(Tools.QemuProcesses(_dir));
        }

        private static string TestImagesHash(string path) => Cloud.TestImages.Sha256Of(path);
    }
}
