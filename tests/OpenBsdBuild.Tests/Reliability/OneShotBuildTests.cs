using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// Invoke-OpenBsdBuild, the whole flow in one cmdlet, through real pipelines: a host (the EC2
    /// emulator with a netns sshd as the instance, or this machine), a QEMU guest, the build,
    /// artifacts, and the teardown of everything it made on success, failure and faults.
    /// </summary>
    public sealed class OneShotBuildTests : IClassFixture<OneShotBuildTests.Namespace>, IAsyncLifetime
    {
        public sealed class Namespace : IDisposable
        {
            public NetnsSshHost Ssh { get; } = new NetnsSshHost();
            public void Dispose() => Ssh.Dispose();
        }

        private readonly NetnsSshHost _ssh;
        private readonly string _work = Directory.CreateTempSubdirectory("obb-oneshot-").FullName;
        private readonly TestGuestImage.Built _image = TestGuestImage.Get();
        private Ec2Lab _lab = null!;

        public OneShotBuildTests(Namespace ns) => _ssh = ns.Ssh;

        public async Task InitializeAsync() => _lab = await Ec2Lab.StartAsync(_ssh);

        public async Task DisposeAsync()
        {
            await _lab.DisposeAsync();
            Directory.Delete(_work, true);
        }

        private string Sources()
        {
            string src = Path.Combine(_work, "src");
            Directory.CreateDirectory(src);
            File.WriteAllText(Path.Combine(src, "words.txt"), "one shot\n");
            File.WriteAllText(Path.Combine(src, "build.sh"), "set -e\nmkdir -p out\ntr a-z A-Z < words.txt > out/upper.txt\necho built\n");
            return src;
        }

        private string Guest => $"-Image '{_image.Path}' -KeyFile '{_image.KeyFile}' -Memory 512MB -CpuCount 1 -MinFreeSpace 64MB -Destination '{_work}/artifacts'";

        private string OneShot(string command, string extra = "") =>
            $"Invoke-OpenBsdBuild {_lab.Launch} {Guest} -Path '{Sources()}' -Command '{command}' {extra}";

        [Fact]
        public void On_a_new_EC2_host_the_build_returns_its_result_and_everything_is_removed()
        {
            using var ps = new PsSession();
            var r = ps.Run(OneShot("sh build.sh", "-Artifact out/upper.txt"));
            Assert.False(r.HadErrors, r.Describe() + "\nboot log:\n" + _lab.Booter.BootLog);
            var result = r.Single<GuestBuildResult>();
            Assert.True(result.Succeeded);
            Assert.Equal("ONE SHOT\n", File.ReadAllText(Path.Combine(_work, "artifacts", "upper.txt")));
            Assert.Equal(HostProvider.Ec2, result.Host.Provider);
            Assert.Equal("Removed", result.Host.State);
            Assert.Contains(r.Information, i => i.MessageData.ToString()!.StartsWith("Removed " + result.Host.InstanceId));
            Assert.StartsWith("-h +120", _lab.Booter.ShutdownArgs); // the self-destruct was armed all along
            _lab.AssertNothingLeft();
        }

        [Fact]
        public void On_an_attached_host_only_the_guest_it_started_is_stopped()
        {
            string state = Path.Combine(_work, "local");
            using var ps = new PsSession();
            var r = ps.Run($"$h = Connect-MetalHost -Local -StateDirectory '{state}'; $h | Invoke-OpenBsdBuild {Guest} -Path '{Sources()}' -Command 'sh build.sh' -Artifact out/upper.txt; $h");
            Assert.False(r.HadErrors, r.Describe());
            var result = r.Single<GuestBuildResult>();
            Assert.Equal("ONE SHOT\n", File.ReadAllText(result.Artifacts.Single().FullName));
            Assert.Equal("Ready", r.Single<MetalHost>().State); // the user's host is theirs to end
            Assert.Empty(r.Single<MetalHost>().Guests);
            Ec2Lab.AssertNoGuests(state);
        }
    }
}
