using System;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Hosts
{
    /// <summary>
    /// New-MetalHost against an EC2 host that behaves like Ubuntu 24.04 on metal in the ways
    /// docs/compatibility.md lists: its console shows what the user data printed only once the
    /// user data has run, and GetConsoleOutput returns that only when asked for the latest output.
    /// </summary>
    public sealed class Ec2HostTests : IAsyncLifetime
    {
        private readonly NetnsSshHost _ssh = new NetnsSshHost();
        private Ec2Emulator _emulator = null!;
        private InstanceBooter _booter = null!;

        public async Task InitializeAsync()
        {
            _emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions());
            _emulator.AddressProvider = _ => (_ssh.Address, null);
            _booter = new InstanceBooter(_emulator, _ssh);
            _emulator.ConsoleOutputProvider = _ => Console();
        }

        public async Task DisposeAsync()
        {
            await _booter.DisposeAsync();
            var bugs = _emulator.UnhandledExceptions;
            await _emulator.DisposeAsync();
            _ssh.Dispose();
            Assert.Empty(bugs);
        }

        /// <summary>
        /// The kernel's lines from the start; the fingerprint block once the user data has printed it
        /// (cloud-final runs the user data long after the instance turned running).
        /// </summary>
        private string Console() =>
            "[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x413fd0c1]\n" +
            "[    2.113402] Run /init as init process\n" +
            (_booter.BootLog.Contains(ConsoleFingerprints.End) ? ConsoleText.With(_ssh.HostKeyFingerprint) : "");

        private string New(string extra = "") =>
            $"New-MetalHost -Region us-east-1 -AccessKey AKIDEXAMPLE -SecretKey secret -EndpointUrl '{_emulator.Endpoint}' " +
            $"-AllowedCidr 198.51.100.7/32 -SshUser {_ssh.User} -StateDirectory '{_booter.StateDirectory}/guests' {extra}";

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
            var r = ps.Run($"$h = {New($"-Image '{location}' -S3EndpointUrl '{s3.Endpoint}'").Replace("-AccessKey AKIDEXAMPLE -SecretKey secret", s3Options)}; " +
                           $"$h | Start-OpenBsdGuest -Image $h.GoldenImagePath -KeyFile '{image.KeyFile}' -Memory 512MB -CpuCount 1 -Accelerator tcg; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe() + "\nboot log:\n" + _booter.BootLog);
            var guest = r.Single<OpenBsdGuest>();
            Assert.Equal(image.HostKeyFingerprint, guest.HostKeyFingerprint);
            Assert.Equal("build", guest.User);
        }
    }
}
