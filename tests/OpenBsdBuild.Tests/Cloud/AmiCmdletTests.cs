using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Images;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using OpenBsdBuild.Tests.Reliability;
using Xunit;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// Register-, Get- and Unregister-OpenBsdAmi in a real runspace: a real qcow2 converted by the real
    /// qemu-img, staged in a real s3rver, imported and registered through the real AWS SDK against the EC2
    /// emulator (which reads the staged object from the same s3rver). Every failure must leave nothing:
    /// no staged object, no snapshot, no AMI.
    /// </summary>
    [Collection(S3rverCollection.Name)]
    public sealed class AmiCmdletTests : IAsyncLifetime
    {
        private const long MiB = 1024 * 1024;
        private readonly S3rverFixture _s3rver;
        private readonly ScratchFolder _scratch = new ScratchFolder();
        private readonly PsSession _ps = new PsSession();
        private readonly string _prefixKey = "amis/" + Guid.NewGuid().ToString("N") + "/";
        private Ec2Emulator _emulator = null!;

        public AmiCmdletTests(S3rverFixture s3rver) => _s3rver = s3rver;

        public async Task InitializeAsync()
        {
            Tools.Require("qemu-img");
            _emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions { ObjectStore = _s3rver.Endpoint });
        }

        public async Task DisposeAsync()
        {
            _ps.Dispose();
            _scratch.Dispose();
            var bugs = _emulator.UnhandledExceptions;
            await _emulator.DisposeAsync();
            Assert.Empty(bugs);
        }

        private string Staging => $"s3://{S3rverFixture.Bucket}/{_prefixKey}";

        private string Aws => $"-Region us-east-1 -AccessKey {S3rverFixture.AccessKey} -SecretKey {S3rverFixture.SecretKey} -EndpointUrl {_emulator.Endpoint}";

        private string Register(string image, string extra = "") =>
            $"Register-OpenBsdAmi -Image '{image}' -StagingLocation {Staging} {Aws} -S3EndpointUrl {_s3rver.Endpoint} -PollInterval 00:00:00.2 {extra}";

        /// <summary>A real qcow2 (random data converted by qemu-img) with its sidecar; returns the qcow2 and the raw bytes' SHA-256.</summary>
        private const string KernelSha256 = "5f1c0a1e2d3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5";

        private (string Path, string RawSha256) LocalImage(string version = "7.8", string architecture = "arm64", string target = ImageTargets.Ec2)
        {
            string raw = _scratch.WriteRandomFile("disk.raw", 3 * MiB, seed: 16);
            string path = Path.Combine(_scratch.Path, $"openbsd-{version}-{architecture}.qcow2");
            Tools.Sh($"qemu-img convert -f raw -O qcow2 '{raw}' '{path}'");
            var metadata = TestImages.Metadata(version, architecture);
            metadata.Target = target;
            metadata.KernelSha256 = KernelSha256;
            metadata.Size = new FileInfo(path).Length;
            metadata.Sha256 = TestImages.Sha256Of(path);
            _scratch.WriteText(Path.GetFileName(path) + ImageMetadata.SidecarSuffix, metadata.ToJson());
            return (path, TestImages.Sha256Of(raw));
        }

        private async Task<List<string>> StagedKeys()
        {
            using var client = _s3rver.CreateClient();
            var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = _prefixKey });
            return (page.S3Objects ?? new List<S3Object>()).Select(o => o.Key.Substring(_prefixKey.Length)).ToList();
        }

        /// <summary>Nothing of a registration is left: no staged object, no pending upload, no snapshot, no AMI, no running import.</summary>
        private async Task AssertNothingLeft(IReadOnlyCollection<string> uploadsBefore)
        {
            Assert.Empty(await StagedKeys());
            Assert.Empty(_s3rver.PendingUploadIds().Except(uploadsBefore));
            Assert.Empty(_emulator.EbsSnapshots);
            Assert.Empty(_emulator.RegisteredImages);
            Assert.DoesNotContain(_emulator.ImportTasks.Values, t => t.Status == "active");
        }

        private const string StagedDiskDeleted = "– (the staged disk is deleted as it fails)";

        private static void AssertError(PsResult r, string id, ErrorCategory category)
        {
            Assert.NotNull(r.FirstError);
            Assert.StartsWith($"OpenBsdBuild.{id},", r.FirstError!.FullyQualifiedErrorId);
            Assert.Equal(category, r.FirstError.CategoryInfo.Category);
            Assert.False(string.IsNullOrEmpty(r.FirstError.ErrorDetails?.RecommendedAction), r.Describe());
        }

        [Fact]
        public async Task Register_makes_a_uefi_ena_imdsv2_gp3_AMI_with_tags_and_Unregister_removes_AMI_snapshot_and_staged_disk()
        {
            var (image, rawSha256) = LocalImage();
            var before = _s3rver.PendingUploadIds(); // the shared s3rver keeps what earlier tests of its collection left
            _emulator.ImportDelay = TimeSpan.FromSeconds(2);

            var r = _ps.Run(Register(image));
            Assert.False(r.HadErrors, r.Describe());
            var ami = r.Single<OpenBsdAmi>();
            Assert.StartsWith("ami-", ami.ImageId);
            Assert.Equal("arm64", ami.Architecture);
            Assert.Equal("uefi", ami.BootMode);
            Assert.True(ami.EnaSupport);
            Assert.Equal("v2.0", ami.ImdsSupport);
            Assert.Equal("7.8", ami.Version);
            Assert.Equal(TestImages.Sha256Of(image), ami.ImageSha256);
            Assert.Equal(KernelSha256, ami.KernelSha256);
            Assert.False(string.IsNullOrEmpty(ami.ModuleVersion));
            // Who the image's agent installs the instance's key for: New-OpenBsdInstance's default login.
            Assert.Equal(TestImages.Metadata("7.8", "arm64").BuildUser, ami.BuildUser);
            Assert.Equal($"{Staging}{ami.Name}.raw", ami.StagedObject);
            Assert.Contains(r.Progress, p => p.StatusDescription.Contains("downloading/converting"));
            Assert.Contains(r.Progress, p => p.Activity.StartsWith("Uploading"));

            var registered = _emulator.RegisteredImages[ami.ImageId];
            Assert.Equal(ami.SnapshotId, registered.RootSnapshotId);
            Assert.Equal("gp3", registered.RootVolumeType);
            Assert.Equal(TestImages.Sha256Of(image), registered.Tags[AmiTags.ImageSha256]);
            Assert.Equal(ami.BuildUser, registered.Tags[Ec2Tags.BuildUser]);
            Assert.Equal(TestImages.Sha256Of(image), _emulator.EbsSnapshots[ami.SnapshotId!].Tags[AmiTags.ImageSha256]);
            var task = Assert.Single(_emulator.ImportTasks.Values);
            Assert.Equal("RAW", task.Format);

            // The staged object is the raw disk qemu-img made: the same bytes the qcow2 was made from.
            using (var s3 = _s3rver.CreateClient())
            using (var staged = await s3.GetObjectAsync(S3rverFixture.Bucket, _prefixKey + ami.Name + ".raw"))
                Assert.Equal(rawSha256, TestImages.Sha256Of(staged.ResponseStream));

            var listed = _ps.Run($"Get-OpenBsdAmi -Version 7.* {Aws} -S3EndpointUrl {_s3rver.Endpoint}");
            Assert.Equal(ami.ImageId, Assert.Single(listed.All<OpenBsdAmi>()).ImageId);

            var removed = _ps.Run($"Get-OpenBsdAmi {Aws} -S3EndpointUrl {_s3rver.Endpoint} | Unregister-OpenBsdAmi -Confirm:$false");
            Assert.False(removed.HadErrors, removed.Describe());
            await AssertNothingLeft(before);
            Assert.Empty(_ps.Run($"Get-OpenBsdAmi {Aws}").All<OpenBsdAmi>());
        }

        [Fact]
        public async Task WhatIf_registers_nothing_and_Unregister_WhatIf_keeps_everything()
        {
            var (image, _) = LocalImage();
            var before = _s3rver.PendingUploadIds(); // the shared s3rver keeps what earlier tests of its collection left
            var r = _ps.Run(Register(image, "-WhatIf"));
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains("What if: Performing the operation \"Register as the AMI", _ps.Host.Text);
            await AssertNothingLeft(before);
            Assert.Empty(_emulator.ImportTasks);

            var ami = _ps.Run(Register(image)).Single<OpenBsdAmi>();
            var kept = _ps.Run($"Unregister-OpenBsdAmi -ImageId {ami.ImageId} {Aws} -S3EndpointUrl {_s3rver.Endpoint} -WhatIf");
            Assert.False(kept.HadErrors, kept.Describe());
            Assert.Single(_emulator.RegisteredImages);
            Assert.Single(_emulator.EbsSnapshots);
            Assert.Single(await StagedKeys());
        }

        [Fact]
        public async Task Without_the_vmimport_role_the_error_says_how_to_create_it_and_nothing_is_left()
        {
            var (image, _) = LocalImage();
            var before = _s3rver.PendingUploadIds();
            _emulator.SetServiceRole("vmimport", exists: false);

            var r = _ps.Run(Register(image));
            AssertError(r, "VmImportRoleMissing", ErrorCategory.PermissionDenied);
            Assert.Equal("vmimport", r.FirstError!.TargetObject);
            Assert.Contains("vmie.amazonaws.com", r.FirstError.ErrorDetails!.RecommendedAction);
            await AssertNothingLeft(before);
            Assert.Empty(_emulator.ImportTasks);
            ReliabilityDoc.Row("Register-OpenBsdAmi in an account without the vmimport role", "OpenBsdBuild.VmImportRoleMissing, with how to create the role", null, StagedDiskDeleted);
        }

        [Fact]
        public async Task A_ClientError_import_fails_with_EC2s_reason_and_nothing_is_left()
        {
            var (image, _) = LocalImage();
            var before = _s3rver.PendingUploadIds();
            _emulator.FailNextImport("ClientError: Disk validation failed [Unsupported specified file format]");

            var r = _ps.Run(Register(image));
            AssertError(r, "SnapshotImportFailed", ErrorCategory.InvalidData);
            Assert.Contains("ClientError: Disk validation failed", r.FirstError!.Exception.Message);
            Assert.StartsWith("import-snap-", (string)r.FirstError.TargetObject);
            await AssertNothingLeft(before);
            ReliabilityDoc.Row("The snapshot import ends with a ClientError", "OpenBsdBuild.SnapshotImportFailed with EC2's reason", null, StagedDiskDeleted);
        }

        [Fact]
        public async Task A_staged_object_deleted_mid_import_is_named_as_the_cause_and_nothing_is_left()
        {
            var (image, _) = LocalImage();
            var before = _s3rver.PendingUploadIds();
            _emulator.ImportDelay = TimeSpan.FromSeconds(30);

            var running = _ps.RunAsync(Register(image));
            await WaitUntil(() => _emulator.ImportTasks.Values.Any(t => t.Status == "active") || running.IsCompleted);
            Assert.False(running.IsCompleted, running.IsCompleted ? running.Result.Describe() : "");
            var staged = _emulator.ImportTasks.Values.Single();
            using (var s3 = _s3rver.CreateClient()) await s3.DeleteObjectAsync(staged.S3Bucket, staged.S3Key);
            var sinceDeleted = System.Diagnostics.Stopwatch.StartNew();

            var r = await running;
            var took = sinceDeleted.Elapsed;
            AssertError(r, "StagedObjectDeleted", ErrorCategory.ObjectNotFound);
            Assert.Equal($"s3://{staged.S3Bucket}/{staged.S3Key}", r.FirstError!.TargetObject);
            Assert.Equal("deleted", _emulator.ImportTasks[staged.ImportTaskId].Status);
            await AssertNothingLeft(before);
            ReliabilityDoc.Row("The staged disk is deleted while EC2 imports it", "OpenBsdBuild.StagedObjectDeleted naming the object", took);
        }

        [Fact]
        public async Task CtrlC_during_the_import_cancels_the_task_and_leaves_nothing()
        {
            var (image, _) = LocalImage();
            var before = _s3rver.PendingUploadIds();
            _emulator.ImportDelay = TimeSpan.FromMinutes(5);

            var running = _ps.RunAsync(Register(image));
            await WaitUntil(() => _emulator.ImportTasks.Values.Any(t => t.Status == "active") || running.IsCompleted);
            Assert.False(running.IsCompleted, running.IsCompleted ? running.Result.Describe() : "");
            var sinceStopped = System.Diagnostics.Stopwatch.StartNew();
            _ps.Stop();
            var r = await running;
            var took = sinceStopped.Elapsed;
            Assert.True(r.Stopped, r.Describe());
            Assert.Equal("deleted", _emulator.ImportTasks.Values.Single().Status);
            Assert.Equal(1, _emulator.CountOf("CancelImportTask"));
            await AssertNothingLeft(before);
            ReliabilityDoc.Row("Ctrl+C: Register-OpenBsdAmi while EC2 imports the disk", "the pipeline stops; the import task is cancelled and the staged disk deleted", took);
        }

        [Fact]
        public async Task Bad_input_is_refused_before_anything_is_made()
        {
            var (image, _) = LocalImage();
            var notS3 = _ps.Run($"Register-OpenBsdAmi -Image '{image}' -StagingLocation /tmp/stage/ {Aws}");
            AssertError(notS3, "InvalidParameter.StagingLocation", ErrorCategory.InvalidArgument);
            Assert.Equal("/tmp/stage/", notS3.FirstError!.TargetObject);

            var first = _ps.Run(Register(image, "-Name openbsd-golden"));
            Assert.False(first.HadErrors, first.Describe());
            _emulator.ResetCounters();
            var again = _ps.Run(Register(image, "-Name openbsd-golden"));
            AssertError(again, "AmiAlreadyExists", ErrorCategory.ResourceExists);
            Assert.Equal(0, _emulator.CountOf("ImportSnapshot"));
            Assert.Single(await StagedKeys());

            var (qemuImage, _) = LocalImage("7.9", "amd64", ImageTargets.Qemu);
            var notEc2 = _ps.Run(Register(qemuImage));
            AssertError(notEc2, "ImageNotForEc2", ErrorCategory.InvalidArgument);
            Assert.Contains("-Target Ec2", notEc2.FirstError!.ErrorDetails!.RecommendedAction);
            Assert.Equal(0, _emulator.CountOf("ImportSnapshot"));
            Assert.Single(await StagedKeys());
            var forced = _ps.Run(Register(qemuImage, "-Force"));
            Assert.False(forced.HadErrors, forced.Describe());
            Assert.Equal("x86_64", forced.Single<OpenBsdAmi>().Architecture);

            var unknown = _ps.Run($"Unregister-OpenBsdAmi -ImageId ami-0123456789abcdef0 {Aws} -Confirm:$false");
            AssertError(unknown, "AmiNotFound", ErrorCategory.ObjectNotFound);
        }

        private static async Task WaitUntil(Func<bool> condition)
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.True(condition(), "the condition never came true");
        }
    }
}
