using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Hosts
{
    /// <summary>
    /// New-MetalHost against an EC2 host that behaves like Ubuntu 24.04 on metal in the ways
    /// docs/compatibility.md lists: the login is the non-root cloud user, not in group kvm, on a host
    /// whose /dev/kvm is root:kvm 0660; the console shows what the user data printed only once it
    /// ran, and GetConsoleOutput returns that only when asked for the latest output.
    /// </summary>
    public sealed class Ec2HostTests : IAsyncLifetime
    {
        private readonly NetnsSshHost _ssh = new NetnsSshHost(ubuntuLogin: true);
        private Ec2Emulator _emulator = null!;
        private InstanceBooter _booter = null!;

        public async Task InitializeAsync()
        {
            _emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions());
            _emulator.AddressProvider = _ => (_ssh.Address, null);
            _booter = new InstanceBooter(_emulator, _ssh);
            // The kernel's lines from the start, then whatever the user data printed (cloud-final's output
            // goes to the console), long after the instance turned running.
            _emulator.ConsoleOutputProvider = _ =>
                "[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x413fd0c1]\n" +
                "[    2.113402] Run /init as init process\n" + _booter.BootLog;
        }

        public async Task DisposeAsync()
        {
            await _booter.DisposeAsync();
            var bugs = _emulator.UnhandledExceptions;
            await _emulator.DisposeAsync();
            _ssh.Dispose();
            Assert.Empty(bugs);
        }

        private string New(string extra = "", string credentials = "-AccessKey AKIDEXAMPLE -SecretKey secret") =>
            $"New-MetalHost -Region us-east-1 {credentials} -EndpointUrl '{_emulator.Endpoint}' " +
            $"-AllowedCidr 198.51.100.7/32 -SshUser {_ssh.User} -StateDirectory '{_ssh.StateDirectory}' {extra}";

        [Fact]
        public void The_host_key_is_pinned_from_the_latest_console_output_not_the_buffered_one()
        {
            using var ps = new PsSession();
            // Bounded so that a client reading only the buffered output fails in minutes, not the default quarter hour.
            var r = ps.Run($"$h = {New("-ConsoleTimeout 00:03:00")}; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe() + "\nboot log:\n" + _booter.BootLog);
            Assert.Equal(_ssh.HostKeyFingerprint, r.Single<MetalHost>().HostKeyFingerprint);
            Assert.Contains(_emulator.Requests, q => q.Action == "GetConsoleOutput" && q.Parameters.TryGetValue("Latest", out var latest) && latest == "true");
        }

        [Fact]
        public void When_Latest_is_refused_the_buffered_console_output_is_read_and_the_user_is_told()
        {
            // An instance type outside Nitro, or an EC2-compatible endpoint, that refuses Latest=true; here
            // the buffered post already carries the fingerprints (on EC2 they come with a later post).
            _emulator.RefuseLatestConsoleOutput();
            _emulator.ConsoleOutputProvider = _ => ConsoleText.With(_ssh.HostKeyFingerprint);
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New("-ConsoleTimeout 00:03:00 -Verbose")}; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe() + "\nboot log:\n" + _booter.BootLog);
            Assert.Equal(_ssh.HostKeyFingerprint, r.Single<MetalHost>().HostKeyFingerprint);
            Assert.Contains(r.Verbose, v => v.Message.Contains("refused Latest=true") && v.Message.Contains("UnsupportedOperation") && v.Message.Contains("buffered"));
            var reads = _emulator.Requests.Where(q => q.Action == "GetConsoleOutput").ToList();
            Assert.Equal("true", reads[0].Parameters["Latest"]);
            // Asked once; every later read is of the buffered output.
            Assert.All(reads.Skip(1), q => Assert.False(q.Parameters.TryGetValue("Latest", out var latest) && latest == "true"));
            Assert.True(reads.Count > 1);
        }

        [Fact]
        public void The_login_user_gets_KVM_on_a_new_host_through_a_fresh_login()
        {
            // As on a real host, where installing QEMU takes minutes: the client is logged in before the
            // user data adds it to kvm (usermod waits for sshd to have accepted the login).
            File.WriteAllText(Path.Combine(_booter.StateDirectory, "bin", "usermod"),
                $"#!/bin/sh\nfor i in $(seq 1 600); do grep -q 'Accepted publickey for {_ssh.User} ' '{_ssh.Directory}/sshd.log' && break; sleep 0.1; done\nexec /usr/sbin/usermod \"$@\"\n");
            Tools.Sh($"chmod 755 '{_booter.StateDirectory}/bin/usermod'");
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New("-Verbose")}; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe() + "\nboot log:\n" + _booter.BootLog);
            var host = r.Single<MetalHost>();
            Assert.Equal(_ssh.User, host.User);
            Assert.Equal(KvmState.Usable, host.Capabilities.Kvm);
            Assert.Equal("kvm", host.Accelerator);
            // The first login predates the group; the probe saw that and the client logged in again.
            Assert.Contains(r.Verbose, v => v.Message.Contains("after this SSH login began") && v.Message.Contains("logging in again"));
        }

        [Fact]
        public void On_EC2_metal_a_guest_without_KVM_is_refused_unless_TCG_is_asked_for()
        {
            _ssh.Exec("rm -f /dev/kvm"); // a metal host whose KVM is gone
            string image = _ssh.StateDirectory + "/blank.qcow2"; // no metadata: a guest of the host's own architecture
            Tools.Sh($"qemu-img create -q -f qcow2 '{image}' 64M && chown {_ssh.User} '{image}'");
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New()}; $h | Start-OpenBsdGuest -Image '{image}' -TrustHostKey -KeyFile '{_ssh.KeyFile}' -Memory 256MB -CpuCount 1 -BootTimeout 00:01:00; $h | Remove-MetalHost");
            var error = r.FirstError!;
            Assert.True(error != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.KvmUnavailable,", error!.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ResourceUnavailable, error.CategoryInfo.Category);
            Assert.Contains("/dev/kvm does not exist", error.Exception.Message);
            Assert.Contains("TCG", error.Exception.Message);
            Assert.Contains("-Accelerator tcg", error.ErrorDetails.RecommendedAction);
            Assert.Empty(Tools.QemuProcesses(_ssh.StateDirectory));
        }

        [Fact]
        public void A_golden_image_from_S3_arrives_with_its_metadata_so_the_guest_key_is_pinned_and_the_build_user_logs_in()
        {
            var image = TestGuestImage.Get();
            // s3rver on the veth address, so the "instance" reaches it as a host reaches S3.
            using var s3 = new S3rverFixture(_ssh.OuterAddress);
            using var ps = new PsSession();
            string s3Options = $"-AccessKey {S3rverFixture.AccessKey} -SecretKey {S3rverFixture.SecretKey}";
            var published = ps.Run($"Publish-OpenBsdImage -Image '{image.Path}' -Destination s3://{S3rverFixture.Bucket}/golden/ -Region us-east-1 {s3Options} -EndpointUrl {s3.Endpoint} -PassThru");
            Assert.False(published.HadErrors, published.Describe());
            string location = published.Single<OpenBsdImage>().Location;

            // No -TrustHostKey, -HostKeyFingerprint or -User: the pin and the user can only come from the metadata.
            // TCG asked for: the stand-in's /dev/kvm opens nothing.
            var r = ps.Run($"$h = {New($"-Image '{location}' -S3EndpointUrl '{s3.Endpoint}'", s3Options)}; " +
                           $"$h | Start-OpenBsdGuest -Image $h.GoldenImagePath -KeyFile '{image.KeyFile}' -Memory 512MB -CpuCount 1 -Accelerator tcg; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe() + "\nboot log:\n" + _booter.BootLog);
            var guest = r.Single<OpenBsdGuest>();
            Assert.Equal(image.HostKeyFingerprint, guest.HostKeyFingerprint);
            Assert.Equal("build", guest.User);
        }
    }
}
