using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Amazon.S3.Model;
using Xunit;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Tests.Fixtures;
using Filter = Amazon.EC2.Model.Filter;
using Tag = Amazon.EC2.Model.Tag;

namespace OpenBsdBuild.Tests.Cloud;

/// <summary>
/// The emulator's VM Import/Export and AMI actions driven by the real AWSSDK.EC2 over HTTP, reading
/// disk images from a real s3rver: what passes here is what the SDK really sends and unmarshals.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class Ec2ImportEmulatorTests : IAsyncLifetime
{
    private static readonly BasicAWSCredentials Credentials = new("AKIDEXAMPLE", "secret");
    private readonly S3rverFixture _s3rver;
    private readonly string _key = "imports/" + Guid.NewGuid().ToString("N") + "/disk.raw";
    private Ec2Emulator _emulator = null!;

    public Ec2ImportEmulatorTests(S3rverFixture s3rver) => _s3rver = s3rver;

    public async Task InitializeAsync()
    {
        _emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions { ObjectStore = _s3rver.Endpoint });
        using var s3 = _s3rver.CreateClient();
        await s3.PutObjectAsync(new PutObjectRequest
        {
            BucketName = S3rverFixture.Bucket, Key = _key, ContentBody = new string('x', 3000), UseChunkEncoding = false,
        });
    }

    public async Task DisposeAsync()
    {
        var bugs = _emulator.UnhandledExceptions;
        await _emulator.DisposeAsync();
        Assert.Empty(bugs);
    }

    private AmazonEC2Client Ec2() =>
        new(Credentials, new AmazonEC2Config { ServiceURL = _emulator.Endpoint.ToString(), AuthenticationRegion = "us-east-1" });

    private ImportSnapshotRequest Import() => new()
    {
        Description = "openbsd-7.8-arm64",
        DiskContainer = new SnapshotDiskContainer
        {
            Format = "RAW",
            UserBucket = new UserBucket { S3Bucket = S3rverFixture.Bucket, S3Key = _key },
        },
        TagSpecifications = [new TagSpecification { ResourceType = ResourceType.ImportSnapshotTask, Tags = [new Tag("purpose", "test")] }],
    };

    private static async Task<SnapshotTaskDetail> DetailAsync(AmazonEC2Client ec2, string taskId)
    {
        var tasks = await ec2.DescribeImportSnapshotTasksAsync(new DescribeImportSnapshotTasksRequest { ImportTaskIds = [taskId] });
        return Assert.Single(tasks.ImportSnapshotTasks).SnapshotTaskDetail;
    }

    private static async Task<SnapshotTaskDetail> WaitUntilFinishedAsync(AmazonEC2Client ec2, string taskId, List<string>? seen = null)
    {
        for (var attempt = 0; attempt < 400; attempt++)
        {
            var detail = await DetailAsync(ec2, taskId);
            seen?.Add($"{detail.Status}/{detail.StatusMessage}");
            if (detail.Status is "completed" or "deleted") return detail;
            await Task.Delay(25);
        }
        throw new TimeoutException($"{taskId} never finished");
    }

    private async Task<string> ImportedSnapshotAsync(AmazonEC2Client ec2)
    {
        var started = await ec2.ImportSnapshotAsync(Import());
        var done = await WaitUntilFinishedAsync(ec2, started.ImportTaskId);
        Assert.Equal("completed", done.Status);
        return done.SnapshotId;
    }

    private static RegisterImageRequest Register(string snapshotId, string name = "openbsd-7.8-arm64-test") => new()
    {
        Name = name,
        Architecture = ArchitectureValues.Arm64,
        BootMode = BootModeValues.Uefi,
        EnaSupport = true,
        ImdsSupport = ImdsSupportValues.V20,
        VirtualizationType = "hvm",
        RootDeviceName = "/dev/xvda",
        BlockDeviceMappings =
        [
            new BlockDeviceMapping
            {
                DeviceName = "/dev/xvda",
                Ebs = new EbsBlockDevice { SnapshotId = snapshotId, VolumeType = VolumeType.Gp3, DeleteOnTermination = true },
            },
        ],
        TagSpecifications = [new TagSpecification { ResourceType = ResourceType.Image, Tags = [new Tag("openbsd-version", "7.8")] }],
    };

    [Fact]
    public async Task An_import_goes_pending_then_downloading_converting_then_completed_with_a_snapshot()
    {
        _emulator.ImportDelay = TimeSpan.FromSeconds(1);
        using var ec2 = Ec2();

        var started = await ec2.ImportSnapshotAsync(Import());
        Assert.StartsWith("import-snap-", started.ImportTaskId);
        Assert.Equal("openbsd-7.8-arm64", started.Description);
        Assert.Equal("active", started.SnapshotTaskDetail.Status);
        Assert.Equal("pending", started.SnapshotTaskDetail.StatusMessage);
        Assert.Equal("3", started.SnapshotTaskDetail.Progress);
        Assert.Equal("RAW", started.SnapshotTaskDetail.Format);
        Assert.Equal(_key, started.SnapshotTaskDetail.UserBucket.S3Key);
        Assert.Equal("test", Assert.Single(started.Tags).Value);

        var seen = new List<string>();
        var done = await WaitUntilFinishedAsync(ec2, started.ImportTaskId, seen);
        Assert.Contains("active/downloading/converting", seen);
        Assert.Equal("completed", done.Status);
        Assert.Null(done.StatusMessage);
        Assert.Equal(3000, done.DiskImageSize);
        Assert.StartsWith("snap-", done.SnapshotId);

        var snapshot = Assert.Single((await ec2.DescribeSnapshotsAsync(new DescribeSnapshotsRequest { OwnerIds = ["self"] })).Snapshots);
        Assert.Equal(done.SnapshotId, snapshot.SnapshotId);
        Assert.Equal(1, snapshot.VolumeSize);
        Assert.Equal($"Created by AWS-VMImport service for {started.ImportTaskId}", snapshot.Description);
    }

    [Fact]
    public async Task Without_the_vmimport_role_ImportSnapshot_fails_with_InvalidParameter_and_starts_nothing()
    {
        _emulator.SetServiceRole("vmimport", exists: false);
        using var ec2 = Ec2();
        var error = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.ImportSnapshotAsync(Import()));
        Assert.Equal("InvalidParameter", error.ErrorCode);
        Assert.Equal("The service role vmimport provided does not exist or does not have sufficient permissions", error.Message);
        Assert.Empty(_emulator.ImportTasks);
    }

    [Fact]
    public async Task A_missing_S3_object_is_refused_at_the_call()
    {
        using var ec2 = Ec2();
        var request = Import();
        request.DiskContainer.UserBucket.S3Key = "imports/no-such-disk.raw";
        var error = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.ImportSnapshotAsync(request));
        Assert.Equal("InvalidParameter", error.ErrorCode);
        Assert.Contains("images/imports/no-such-disk.raw", error.Message);
    }

    [Fact]
    public async Task Deleting_the_S3_object_mid_import_ends_the_task_deleted_with_a_ClientError_and_no_snapshot()
    {
        _emulator.ImportDelay = TimeSpan.FromSeconds(30);
        using var ec2 = Ec2();
        var started = await ec2.ImportSnapshotAsync(Import());
        Assert.Equal("active", (await DetailAsync(ec2, started.ImportTaskId)).Status);

        using (var s3 = _s3rver.CreateClient()) await s3.DeleteObjectAsync(S3rverFixture.Bucket, _key);

        var detail = await DetailAsync(ec2, started.ImportTaskId);
        Assert.Equal("deleted", detail.Status);
        Assert.StartsWith("ClientError: ", detail.StatusMessage);
        Assert.Null(detail.SnapshotId);
        Assert.Empty(_emulator.EbsSnapshots);
    }

    [Fact]
    public async Task A_scripted_ClientError_ends_the_task_deleted_with_that_message()
    {
        _emulator.FailNextImport("ClientError: Disk validation failed [Unsupported specified file format]");
        using var ec2 = Ec2();
        var started = await ec2.ImportSnapshotAsync(Import());
        var detail = await WaitUntilFinishedAsync(ec2, started.ImportTaskId);
        Assert.Equal("deleted", detail.Status);
        Assert.Equal("ClientError: Disk validation failed [Unsupported specified file format]", detail.StatusMessage);
        Assert.Empty(_emulator.EbsSnapshots);
    }

    [Fact]
    public async Task CancelImportTask_ends_an_active_task_without_a_snapshot()
    {
        _emulator.ImportDelay = TimeSpan.FromSeconds(30);
        using var ec2 = Ec2();
        var started = await ec2.ImportSnapshotAsync(Import());
        var cancel = await ec2.CancelImportTaskAsync(new CancelImportTaskRequest { ImportTaskId = started.ImportTaskId });
        Assert.Equal("active", cancel.PreviousState);
        Assert.Equal("deleting", cancel.State);
        Assert.Equal("deleted", (await DetailAsync(ec2, started.ImportTaskId)).Status);
        Assert.Empty(_emulator.EbsSnapshots);
    }

    [Fact]
    public async Task RegisterImage_makes_a_uefi_ena_imdsv2_AMI_that_DescribeImages_shows_and_filters_by_tag()
    {
        using var ec2 = Ec2();
        var snapshotId = await ImportedSnapshotAsync(ec2);
        var registered = await ec2.RegisterImageAsync(Register(snapshotId));
        Assert.StartsWith("ami-", registered.ImageId);

        var response = await ec2.DescribeImagesAsync(new DescribeImagesRequest
        {
            Owners = ["self"],
            Filters = [new Filter("tag:openbsd-version", ["7.8"])],
        });
        var image = Assert.Single(response.Images);
        Assert.Equal(registered.ImageId, image.ImageId);
        Assert.Equal("openbsd-7.8-arm64-test", image.Name);
        Assert.Equal(ArchitectureValues.Arm64, image.Architecture);
        Assert.Equal(BootModeValues.Uefi, image.BootMode);
        Assert.True(image.EnaSupport);
        Assert.Equal(ImdsSupportValues.V20, image.ImdsSupport);
        Assert.False(image.Public);
        Assert.Equal("123456789012", image.OwnerId);
        Assert.Equal("/dev/xvda", image.RootDeviceName);
        var root = Assert.Single(image.BlockDeviceMappings);
        Assert.Equal(snapshotId, root.Ebs.SnapshotId);
        Assert.Equal(VolumeType.Gp3, root.Ebs.VolumeType);
        Assert.Equal("7.8", Assert.Single(image.Tags).Value);

        // Canonical's catalog images are not "self".
        Assert.Single((await ec2.DescribeImagesAsync(new DescribeImagesRequest { Owners = ["self"] })).Images);

        var duplicate = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.RegisterImageAsync(Register(snapshotId)));
        Assert.Equal("InvalidAMIName.Duplicate", duplicate.ErrorCode);
    }

    [Fact]
    public async Task A_snapshot_in_use_by_an_AMI_cannot_be_deleted_until_the_AMI_is_deregistered()
    {
        using var ec2 = Ec2();
        var snapshotId = await ImportedSnapshotAsync(ec2);
        var imageId = (await ec2.RegisterImageAsync(Register(snapshotId))).ImageId;

        var inUse = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = snapshotId }));
        Assert.Equal("InvalidSnapshot.InUse", inUse.ErrorCode);
        Assert.Equal($"The snapshot {snapshotId} is currently in use by {imageId}", inUse.Message);

        await ec2.DeregisterImageAsync(new DeregisterImageRequest { ImageId = imageId });
        Assert.Empty((await ec2.DescribeImagesAsync(new DescribeImagesRequest { Owners = ["self"] })).Images ?? []); // the SDK gives null for an empty set
        Assert.Single(_emulator.EbsSnapshots); // deregistering leaves the snapshot, as on EC2

        await ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = snapshotId });
        Assert.Empty(_emulator.EbsSnapshots);
        var gone = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = snapshotId }));
        Assert.Equal("InvalidSnapshot.NotFound", gone.ErrorCode);
    }

    [Fact]
    public async Task RegisterImage_refuses_an_unknown_snapshot_and_CreateTags_reaches_snapshots_and_AMIs()
    {
        using var ec2 = Ec2();
        var unknown = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ec2.RegisterImageAsync(Register("snap-0123456789abcdef0")));
        Assert.Equal("InvalidSnapshot.NotFound", unknown.ErrorCode);

        var snapshotId = await ImportedSnapshotAsync(ec2);
        var imageId = (await ec2.RegisterImageAsync(Register(snapshotId))).ImageId;
        await ec2.CreateTagsAsync(new CreateTagsRequest { Resources = [snapshotId, imageId], Tags = [new Tag("image-sha256", "abc")] });
        Assert.Equal("abc", _emulator.EbsSnapshots[snapshotId].Tags["image-sha256"]);
        Assert.Equal("abc", _emulator.RegisteredImages[imageId].Tags["image-sha256"]);
    }

    [Fact]
    public async Task An_instance_launches_from_a_registered_AMI_with_its_snapshot_as_root()
    {
        using var ec2 = Ec2();
        var snapshotId = await ImportedSnapshotAsync(ec2);
        var imageId = (await ec2.RegisterImageAsync(Register(snapshotId))).ImageId;
        var run = await ec2.RunInstancesAsync(new RunInstancesRequest { ImageId = imageId, InstanceType = "t4g.micro", MinCount = 1, MaxCount = 1 });
        var instance = Assert.Single(run.Reservation.Instances);
        Assert.Equal("/dev/xvda", instance.RootDeviceName);
        var volume = _emulator.Volumes[Assert.Single(_emulator.Instances[instance.InstanceId].VolumeIds)];
        Assert.Equal(snapshotId, volume.SnapshotId);
    }

    [Fact]
    public async Task The_snapshot_holds_the_imported_bytes_after_the_object_is_gone_and_an_instance_of_its_AMI_boots_them()
    {
        using var ec2 = Ec2();
        var snapshotId = await ImportedSnapshotAsync(ec2);
        string disk = _emulator.EbsSnapshots[snapshotId].DiskPath!;
        using (var s3 = _s3rver.CreateClient()) await s3.DeleteObjectAsync(S3rverFixture.Bucket, _key);
        Assert.Equal(new string('x', 3000), File.ReadAllText(disk));

        var imageId = (await ec2.RegisterImageAsync(Register(snapshotId))).ImageId;
        string keyDir = Directory.CreateTempSubdirectory("obb-import-key-").FullName;
        Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -C agent@test -f '{keyDir}/key'");
        string publicKey = File.ReadAllText(Path.Combine(keyDir, "key.pub")).Trim();
        Directory.Delete(keyDir, true);
        await ec2.ImportKeyPairAsync(new ImportKeyPairRequest
        {
            KeyName = "agent-test", PublicKeyMaterial = Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(publicKey)),
        });
        var run = await ec2.RunInstancesAsync(new RunInstancesRequest
        {
            ImageId = imageId, InstanceType = "t4g.micro", MinCount = 1, MaxCount = 1, KeyName = "agent-test",
            UserData = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("#!/bin/sh\necho hello\n")),
            MetadataOptions = new InstanceMetadataOptionsRequest { HttpTokens = HttpTokensState.Required, HttpPutResponseHopLimit = 1 },
        });
        var instance = Assert.Single(run.Reservation.Instances);
        Assert.Equal(disk, _emulator.RootDiskOf(instance.InstanceId));

        // What the instance's metadata service answers comes from the launch.
        var metadata = _emulator.MetadataOf(instance.InstanceId);
        Assert.Equal(instance.InstanceId, metadata.InstanceId);
        Assert.Equal($"ip-{instance.PrivateIpAddress.Replace('.', '-')}.ec2.internal", metadata.LocalHostname);
        Assert.Equal("agent-test", metadata.PublicKey?.Name);
        Assert.StartsWith(string.Join(" ", publicKey.Split(' ').Take(2)), metadata.PublicKey?.OpenSshKey);
        Assert.Equal("#!/bin/sh\necho hello\n", System.Text.Encoding.UTF8.GetString(metadata.UserData!));
        Assert.Equal("required", metadata.HttpTokens);
        Assert.Equal(1, metadata.HttpPutResponseHopLimit);

        // Its data goes with the snapshot.
        await ec2.DeregisterImageAsync(new DeregisterImageRequest { ImageId = imageId });
        await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = [instance.InstanceId] });
        await ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = snapshotId });
        Assert.False(File.Exists(disk));
    }
}
