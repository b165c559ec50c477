using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Amazon.S3.Model;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// The whole native road with nothing done by the test in between: an EC2 image with the first-boot agent
    /// (New-OpenBsdImage -Target Ec2 -Kernel on the fixture's installer, <see cref="Ec2TestImage"/>) →
    /// Register-OpenBsdAmi against the EC2 emulator and s3rver → New-OpenBsdInstance, whose instance is a QEMU
    /// guest booted from that AMI's snapshot (the raw disk the import read from S3) with its own IMDSv2
    /// emulator, so the agent itself sets the hostname, installs the instance key for the AMI's build user,
    /// prints the host key fingerprints the cmdlet pins and reads the user data → Invoke-GuestBuild with
    /// verified artifacts → Remove-MetalHost and Unregister-OpenBsdAmi → nothing left. And Ctrl+C at each stage.
    /// </summary>
    [Collection(S3rverCollection.Name)]
    public sealed class NativeFlowEndToEndTests : IAsyncLifetime
    {
        private readonly S3rverFixture _s3rver;
        private readonly string _prefixKey = "native-e2e/" + Guid.NewGuid().ToString("N") + "/";
        private NativeInstanceLab _lab = null!;
        private string _work = "";
        private IReadOnlyList<string> _uploadsBefore = Array.Empty<string>();

        public NativeFlowEndToEndTests(S3rverFixture s3rver) => _s3rver = s3rver;

        public async Task InitializeAsync()
        {
            Tools.Require("qemu-system-aarch64", "qemu-img", "perl");
            _lab = await NativeInstanceLab.StartAsync(_s3rver.Endpoint);
            _work = Directory.CreateTempSubdirectory("obb-native-e2e-").FullName;
            _uploadsBefore = _s3rver.PendingUploadIds(); // the collection's shared s3rver keeps what earlier tests left
        }

        public async Task DisposeAsync()
        {
            await _lab.DisposeAsync();
            Directory.Delete(_work, true);
        }

        private string Aws => $"-Region us-east-1 -AccessKey {S3rverFixture.AccessKey} -SecretKey {S3rverFixture.SecretKey} -EndpointUrl '{_lab.Emulator.Endpoint}'";

        private string Register(string image) =>
            $"Register-OpenBsdAmi -Image '{image}' -StagingLocation s3://{S3rverFixture.Bucket}/{_prefixKey} {Aws} -S3EndpointUrl {_s3rver.Endpoint} -PollInterval 00:00:00.5";

        /// <summary>New-OpenBsdInstance with no -User: the login is the AMI's build-user tag.</summary>
        private string Launch(string ami) => $"New-OpenBsdInstance {ami} {Aws} -AllowedCidr 198.51.100.7/32 -InstanceType c6g.xlarge";

        private string Sources()
        {
            string src = Path.Combine(_work, "src");
            Directory.CreateDirectory(src);
            File.WriteAllText(Path.Combine(src, "build.sh"), "mkdir -p out && hostname > out/hostname && id -un > out/user && echo native-build > out/result\n");
            return src;
        }

        private OpenBsdAmi RegisterImage(PsSession ps)
        {
            var r = ps.Run("$ami = " + Register(Ec2TestImage.SmallCopy()) + "; $ami");
            Assert.False(r.HadErrors, r.Describe());
            return r.Single<OpenBsdAmi>();
        }

        [Fact]
        public async Task An_image_registered_as_an_AMI_boots_as_an_instance_whose_agent_configures_it_builds_and_leaves_nothing()
        {
            string src = Sources();
            string dest = Path.Combine(_work, "artifacts");
            using var ps = new PsSession();
            var ami = RegisterImage(ps);
            Assert.Equal(Ec2TestImage.BuildUser, ami.BuildUser);
            string snapshotDisk = _lab.Emulator.EbsSnapshots[ami.SnapshotId!].DiskPath!;
            Assert.True(File.Exists(snapshotDisk));

            var r = ps.Run($"$i = $ami | {Launch("")} -MaxLifetime 01:30:00; $i; " +
                           $"$i | Invoke-GuestBuild -Path '{src}' -Command 'sh build.sh' -Artifact out/result, out/hostname, out/user -MinFreeSpace 1MB -Destination '{dest}' | Remove-MetalHost -PassThru");
            Assert.False(r.HadErrors, r.Describe());
            var instance = r.Single<OpenBsdInstance>();
            Assert.Equal(ami.ImageId, instance.ImageId);
            Assert.Equal(Ec2TestImage.BuildUser, instance.User); // from the AMI's tag, not -User

            // The agent did it all: the host key the cmdlet pinned is the one it printed on the console, ...
            string console = _lab.SerialConsoleOf(instance.InstanceId!);
            var printed = ConsoleFingerprints.Parse(console);
            Assert.Contains(instance.HostKeyFingerprint, printed);
            var metadata = _lab.Emulator.MetadataOf(instance.InstanceId!);
            Assert.Contains($"openbsdbuild-agent: first boot of instance {instance.InstanceId}", console);
            Assert.Contains($"openbsdbuild-agent: hostname {metadata.LocalHostname}", console);
            // ... it read the user data New-OpenBsdInstance gave and armed the self-destruct it asks for, ...
            Assert.Contains("openbsdbuild-agent: self-destruct armed: power-off in 90 minutes", console);
            // ... over IMDSv2 only: a token first, no GET without one, the user data once.
            var imds = _lab.MetadataRequestsOf(instance.InstanceId!);
            Assert.Equal("PUT", imds[0].Method);
            Assert.All(imds.Where(q => q.Method == "GET"), q => Assert.True(q.HadToken, $"GET {q.Path} without a token"));
            Assert.Contains(imds, q => q.Path == "/latest/meta-data/public-keys/0/openssh-key" && q.Status == 200);
            Assert.Single(imds, q => q.Path == "/latest/user-data");

            // The build ran as the AMI's build user, on the host the agent named, with verified artifacts.
            var result = r.Single<GuestBuildResult>();
            Assert.True(result.Succeeded, result.Diagnosis);
            Assert.Equal(3, result.Artifacts.Count);
            foreach (var artifact in result.Artifacts)
                Assert.Equal(OpenBsdBuild.Builds.Checksums.Sha256File(artifact.FullName), artifact.Sha256);
            string Artifact(string name) => File.ReadAllText(result.Artifacts.Single(a => a.Name == name).FullName).Trim();
            Assert.Equal("native-build", Artifact("result"));
            Assert.Equal(metadata.LocalHostname, Artifact("hostname"));
            Assert.Equal(Ec2TestImage.BuildUser, Artifact("user"));

            var removed = ps.Run("$ami | Unregister-OpenBsdAmi -Confirm:$false");
            Assert.False(removed.HadErrors, removed.Describe());
            await AssertNothingLeft(r);
            Assert.False(File.Exists(snapshotDisk), "the snapshot's data is left");
        }

        [Fact]
        public async Task CtrlC_at_each_stage_of_the_native_flow_leaves_nothing()
        {
            string small = Ec2TestImage.SmallCopy();
            using var ps = new PsSession();

            // Register-OpenBsdAmi, while EC2 imports the staged disk.
            _lab.Emulator.ImportDelay = TimeSpan.FromMinutes(5);
            var registering = NativeInstanceTests.CancelWhen(ps, Register(small),
                () => _lab.Emulator.ImportTasks.Values.Any(t => t.Status == "active"), "the import");
            Assert.Empty(registering.All<OpenBsdAmi>());
            Assert.Equal("deleted", _lab.Emulator.ImportTasks.Values.Single().Status);
            await AssertNothingLeft(registering);
            _lab.Emulator.ImportDelay = TimeSpan.Zero;

            var ami = RegisterImage(ps);

            // New-OpenBsdInstance, while the instance is pending.
            _lab.Emulator.StuckPending(true);
            var pending = NativeInstanceTests.CancelWhen(ps, Launch(ami.ImageId), () => _lab.Emulator.Instances.Count > 0, "the launch");
            Assert.Empty(pending.All<OpenBsdInstance>());
            _lab.Emulator.StuckPending(false);
            _lab.AssertNothingLeft(pending);

            // New-OpenBsdInstance, while the agent boots (QEMU runs, the console has no fingerprints yet).
            var booting = NativeInstanceTests.CancelWhen(ps, Launch(ami.ImageId),
                () => _lab.Emulator.Instances.Values.Any(i => i.State == EmulatedInstanceState.Running && _lab.SerialConsoleOf(i.InstanceId).Length > 0) &&
                      _lab.Emulator.CountOf("GetConsoleOutput") > 0, "the boot");
            Assert.Empty(booting.All<OpenBsdInstance>());
            _lab.AssertNothingLeft(booting);

            // Invoke-GuestBuild, while the build runs on the instance.
            string src = Sources();
            var building = NativeInstanceTests.CancelWhen(ps,
                $"{Launch(ami.ImageId)} | Invoke-GuestBuild -Path '{src}' -Command 'echo started; sleep 300' -MinFreeSpace 1MB -Destination '{_work}/a' | Remove-MetalHost",
                () => File.Exists($"{_work}/a/build.log") && File.ReadAllText($"{_work}/a/build.log").Contains("started"), "the build");
            Assert.Empty(building.All<GuestBuildResult>());
            _lab.AssertNothingLeft(building);

            var removed = ps.Run($"Get-OpenBsdAmi {Aws} -S3EndpointUrl {_s3rver.Endpoint} | Unregister-OpenBsdAmi -Confirm:$false");
            Assert.False(removed.HadErrors, removed.Describe());
            await AssertNothingLeft(removed);
        }

        /// <summary>Nothing of the flow is left: no instance, group, key pair or QEMU (the lab), no AMI, snapshot, import or staged object.</summary>
        private async Task AssertNothingLeft(PsResult seen)
        {
            _lab.AssertNothingLeft(seen);
            Assert.Empty(_lab.Emulator.RegisteredImages);
            Assert.Empty(_lab.Emulator.EbsSnapshots);
            Assert.DoesNotContain(_lab.Emulator.ImportTasks.Values, t => t.Status == "active");
            using var s3 = _s3rver.CreateClient();
            var page = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = _prefixKey });
            Assert.Empty(page.S3Objects ?? new List<S3Object>());
            Assert.Empty(_s3rver.PendingUploadIds().Except(_uploadsBefore));
        }
    }
}
