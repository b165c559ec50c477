using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Cloud.Aws;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// Register-OpenBsdAmi: golden image → raw disk (qemu-img) → staged S3 object (parallel parts) →
    /// ImportSnapshot → RegisterImage (UEFI, ENA, gp3 root, IMDSv2 only) with tags. Whatever fails, or
    /// Ctrl+C, everything made so far is removed again: the import is cancelled, the AMI deregistered,
    /// the snapshot and the staged object deleted.
    /// </summary>
    public static class AmiRegistrar
    {
        public const string RootDevice = "/dev/xvda";
        // Clean-up after a failure or Ctrl+C must not hang on a dead network.
        private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(60);

        public static async Task<OpenBsdAmi> RegisterAsync(OpenBsdImage image, AmiRequest request, AwsConnectionOptions aws,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var metadata = image.Metadata;
            if (image.S3Location != null)
                throw OpenBsdBuildException.BadParameter("Image", image.Location, "is in S3; the image is converted to a raw disk on this machine first.",
                    "Pass the local image New-OpenBsdImage made (Get-OpenBsdImage on its folder, or its path).");
            // Only an EC2-target image configures itself at first boot (hostname, key, host keys on the console);
            // any other boots on EC2 with no way in.
            if (metadata.Target != ImageTargets.Ec2 && !request.AnyTarget)
                throw new OpenBsdBuildException("ImageNotForEc2", FailureKind.InvalidArgument,
                    $"'{image.Location}' was made for {metadata.Target}, not EC2: an instance booted from it would not install its key or print its host keys.",
                    image.Location, "Make the image with New-OpenBsdImage -Target Ec2 (see docs/golden-images.md), or pass -Force if it configures itself some other way.");
            string architecture = Ec2Architecture(image.Architecture);
            string name = request.Name ?? DefaultName(image);

            using var ec2 = Ec2Connection.Open(aws, reporter);
            using var s3 = S3ImageConnection.Open(new AwsConnectionOptions
            {
                Region = ec2.Region, ProfileName = aws.ProfileName, ProfileLocation = aws.ProfileLocation, AccessKey = aws.AccessKey,
                SecretKey = aws.SecretKey, SessionToken = aws.SessionToken, EndpointUrl = request.S3EndpointUrl,
            }, reporter, request.Upload);
            await EnsureNameFreeAsync(ec2.Ec2, name, cancellationToken).ConfigureAwait(false);

            var staged = request.Staging.Append(name + ".raw");
            var tags = AmiTags.For(name, image.Version, image.Sha256, metadata.KernelSha256, ModuleVersion, staged, metadata.BuildUser);
            var made = new Made(ec2.Ec2, s3.Store, reporter);
            try
            {
                using (var raw = await ConvertAsync(image, reporter, cancellationToken).ConfigureAwait(false))
                {
                    reporter.Verbose($"Staging {raw.Path} ({raw.Length:N0} bytes) at {staged} ({s3.Describe()})");
                    // A failed upload aborts itself; only a finished one is ours to delete (never an object that was there before).
                    await s3.Store.UploadFileAsync(raw.Path, staged, reporter, cancellationToken).ConfigureAwait(false);
                    made.Staged = staged;
                }

                string description = request.Description ?? $"OpenBSD {image.Version} {image.Architecture} golden image {image.ShortSha256}";
                var import = await SnapshotImport.StartAsync(ec2.Ec2, staged, description, request.RoleName, tags, cancellationToken).ConfigureAwait(false);
                made.Import = import;
                reporter.Verbose($"Import task {import.TaskId} started from {staged}");
                string snapshotId = await WaitForImportAsync(import, s3.Store, request.PollInterval, reporter, cancellationToken).ConfigureAwait(false);
                made.Import = null;
                made.SnapshotId = snapshotId;

                // An imported snapshot carries none of the task's tags.
                await ec2.Ec2.CreateTagsAsync(new CreateTagsRequest { Resources = new List<string> { snapshotId }, Tags = tags }, cancellationToken).ConfigureAwait(false);
                var registered = await ec2.Ec2.RegisterImageAsync(new RegisterImageRequest
                {
                    Name = name,
                    Description = description,
                    Architecture = architecture,
                    BootMode = BootModeValues.Uefi,
                    EnaSupport = true,
                    ImdsSupport = ImdsSupportValues.V20,
                    VirtualizationType = "hvm",
                    RootDeviceName = RootDevice,
                    BlockDeviceMappings = new List<BlockDeviceMapping>
                    {
                        new BlockDeviceMapping
                        {
                            DeviceName = RootDevice,
                            Ebs = new EbsBlockDevice { SnapshotId = snapshotId, VolumeType = VolumeType.Gp3, DeleteOnTermination = true },
                        },
                    },
                    TagSpecifications = new List<TagSpecification> { new TagSpecification { ResourceType = ResourceType.Image, Tags = tags } },
                }, cancellationToken).ConfigureAwait(false);
                made.ImageId = registered.ImageId;
                reporter.Verbose($"Registered {registered.ImageId} ({name}) from {snapshotId}");

                var ami = await AmiInventory.DescribeAsync(ec2, registered.ImageId, request.S3EndpointUrl, aws, cancellationToken).ConfigureAwait(false);
                return ami ?? throw new OpenBsdBuildException("AmiVanished", FailureKind.InvalidResult,
                    $"EC2 registered {registered.ImageId} but does not list it.", registered.ImageId, "Look it up with Get-OpenBsdAmi in a minute.");
            }
            catch (Exception)
            {
                await made.RemoveAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>EC2's architecture names: OpenBSD's amd64 is x86_64.</summary>
        public static string Ec2Architecture(string openBsdArchitecture) => openBsdArchitecture switch
        {
            "arm64" => ArchitectureValues.Arm64,
            "amd64" => ArchitectureValues.X86_64,
            _ => throw OpenBsdBuildException.BadParameter("Image", openBsdArchitecture, "has an architecture EC2 cannot boot.",
                "Use an arm64 (Graviton) or amd64 image."),
        };

        private static string DefaultName(OpenBsdImage image) =>
            $"{Path.GetFileNameWithoutExtension(image.Location)}-{image.ShortSha256}";

        private static string ModuleVersion =>
            typeof(AmiRegistrar).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(AmiRegistrar).Assembly.GetName().Version?.ToString() ?? "unknown";

        private static async Task EnsureNameFreeAsync(IAmazonEC2 ec2, string name, CancellationToken cancellationToken)
        {
            var existing = await ec2.DescribeImagesAsync(new DescribeImagesRequest
            {
                Owners = new List<string> { "self" },
                Filters = new List<Filter> { new Filter("name", new List<string> { name }) },
            }, cancellationToken).ConfigureAwait(false);
            var taken = existing.Images?.FirstOrDefault();
            if (taken != null)
                throw new OpenBsdBuildException("AmiAlreadyExists", FailureKind.ResourceExists,
                    $"This account already has an AMI named '{name}' ({taken.ImageId}).", name,
                    "Pass another -Name, or remove the old one first: Get-OpenBsdAmi -Name <name> | Unregister-OpenBsdAmi.");
        }

        private static async Task<RawDiskImage> ConvertAsync(OpenBsdImage image, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string activity = $"Converting {Path.GetFileName(image.Location)} to a raw disk";
            reporter.Progress(activity, "qemu-img convert -O raw", -1);
            try
            {
                string format = string.IsNullOrEmpty(image.Metadata.Format) ? "qcow2" : image.Metadata.Format;
                return await RawDiskImage.ConvertAsync(image.Location, format, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                reporter.ProgressDone(activity);
            }
        }

        /// <summary>A failed import whose source is gone failed because the source went: say that, not EC2's generic ClientError.</summary>
        private static async Task<string> WaitForImportAsync(SnapshotImport import, S3ImageStore store, TimeSpan pollInterval,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            try
            {
                return await import.WaitAsync(pollInterval, reporter, cancellationToken).ConfigureAwait(false);
            }
            catch (OpenBsdBuildException ex) when (ex.ErrorId == "SnapshotImportFailed")
            {
                if (await store.ExistsAsync(import.Source, cancellationToken).ConfigureAwait(false)) throw;
                throw new OpenBsdBuildException("StagedObjectDeleted", FailureKind.ObjectNotFound,
                    $"The staged disk {import.Source} was deleted while EC2 imported it ({ex.Message})", import.Source.ToString(),
                    "Keep the staging prefix free of lifecycle expiry rules and other clean-up jobs while an import runs, then register again.", ex);
            }
        }

        /// <summary>What this registration has made so far, removed newest first when it fails.</summary>
        private sealed class Made
        {
            private readonly IAmazonEC2 _ec2;
            private readonly S3ImageStore _s3;
            private readonly IOperationReporter _reporter;

            public Made(IAmazonEC2 ec2, S3ImageStore s3, IOperationReporter reporter)
            {
                _ec2 = ec2;
                _s3 = s3;
                _reporter = reporter;
            }

            public S3Location? Staged { get; set; }
            public SnapshotImport? Import { get; set; }
            public string? SnapshotId { get; set; }
            public string? ImageId { get; set; }

            public async Task RemoveAsync()
            {
                using var timeout = new CancellationTokenSource(CleanupTimeout);
                var ct = timeout.Token;
                if (Import is { } import)
                    await Quietly($"cancel the import task {import.TaskId}", async () => SnapshotId = await import.CancelAsync(ct).ConfigureAwait(false))
                        .ConfigureAwait(false);
                if (ImageId != null)
                    await Quietly($"deregister {ImageId}", () => _ec2.DeregisterImageAsync(new DeregisterImageRequest { ImageId = ImageId }, ct)).ConfigureAwait(false);
                if (SnapshotId != null)
                    await Quietly($"delete the snapshot {SnapshotId}", () => _ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = SnapshotId }, ct)).ConfigureAwait(false);
                if (Staged != null)
                    await Quietly($"delete the staged disk {Staged}", () => _s3.DeleteAsync(Staged, ct)).ConfigureAwait(false);
            }

            private async Task Quietly(string what, Func<Task> work)
            {
                try
                {
                    await work().ConfigureAwait(false);
                    _reporter.Verbose($"Cleaned up: {what}");
                }
                catch (Exception ex)
                {
                    // The clean-up must not hide the failure that caused it; say what is left instead.
                    _reporter.Warning($"Could not {what} ({ex.Message}); it is left behind: remove it by hand.");
                }
            }
        }
    }
}
