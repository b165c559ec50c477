using System;
using System.Collections.Generic;
using System.Linq;
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
    /// <summary>Get-OpenBsdAmi and Unregister-OpenBsdAmi: the account's AMIs that carry this module's image tag.</summary>
    public static class AmiInventory
    {
        /// <param name="namePattern">AMI name, EC2 wildcards '*' and '?' allowed; null for all.</param>
        /// <param name="versionPattern">OpenBSD version ("7.*"); null for all.</param>
        public static async Task<IReadOnlyList<OpenBsdAmi>> ListAsync(AwsConnectionOptions aws, IReadOnlyList<string>? imageIds, string? namePattern,
            string? versionPattern, Uri? s3EndpointUrl, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            using var ec2 = Ec2Connection.Open(aws, reporter);
            var filters = new List<Filter> { new Filter("tag-key", new List<string> { AmiTags.ImageSha256 }) };
            if (!string.IsNullOrEmpty(namePattern)) filters.Add(new Filter("name", new List<string> { namePattern! }));
            if (!string.IsNullOrEmpty(versionPattern)) filters.Add(new Filter("tag:" + AmiTags.Version, new List<string> { versionPattern! }));
            DescribeImagesResponse response;
            try
            {
                response = await ec2.Ec2.DescribeImagesAsync(new DescribeImagesRequest
                {
                    Owners = new List<string> { "self" },
                    ImageIds = imageIds?.Count > 0 ? imageIds.ToList() : null,
                    Filters = filters,
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidAMIID.NotFound" || ex.ErrorCode == "InvalidAMIID.Unavailable")
            {
                return Array.Empty<OpenBsdAmi>();
            }
            return (response.Images ?? new List<Image>())
                .Select(i => ToAmi(i, ec2, s3EndpointUrl, aws))
                .OrderByDescending(a => a.Created)
                .ToList();
        }

        /// <summary>One AMI by id, or null when EC2 does not list it.</summary>
        internal static async Task<OpenBsdAmi?> DescribeAsync(Ec2Connection ec2, string imageId, Uri? s3EndpointUrl, AwsConnectionOptions aws,
            CancellationToken cancellationToken)
        {
            var response = await ec2.Ec2.DescribeImagesAsync(new DescribeImagesRequest { ImageIds = new List<string> { imageId } }, cancellationToken)
                .ConfigureAwait(false);
            var image = response.Images?.FirstOrDefault();
            return image == null ? null : ToAmi(image, ec2, s3EndpointUrl, aws);
        }

        /// <summary>
        /// Deregisters the AMI, then deletes its snapshot (EC2 refuses while an AMI uses it) and the staged
        /// S3 object. Parts already gone are skipped, so running it again finishes an interrupted removal.
        /// </summary>
        public static async Task RemoveAsync(OpenBsdAmi ami, AwsConnectionOptions aws, Uri? s3EndpointUrl, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            using var ec2 = Ec2Connection.Open(aws, reporter);
            try
            {
                await ec2.Ec2.DeregisterImageAsync(new DeregisterImageRequest { ImageId = ami.ImageId }, cancellationToken).ConfigureAwait(false);
                reporter.Verbose($"Deregistered {ami.ImageId}");
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidAMIID.NotFound" || ex.ErrorCode == "InvalidAMIID.Unavailable")
            {
                reporter.Verbose($"{ami.ImageId} was already deregistered.");
            }

            if (!string.IsNullOrEmpty(ami.SnapshotId))
            {
                try
                {
                    await ec2.Ec2.DeleteSnapshotAsync(new DeleteSnapshotRequest { SnapshotId = ami.SnapshotId }, cancellationToken).ConfigureAwait(false);
                    reporter.Verbose($"Deleted the snapshot {ami.SnapshotId}");
                }
                catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidSnapshot.NotFound")
                {
                    reporter.Verbose($"The snapshot {ami.SnapshotId} was already deleted.");
                }
                catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidSnapshot.InUse")
                {
                    throw new OpenBsdBuildException("SnapshotInUse", FailureKind.ResourceUnavailable,
                        $"{ami.ImageId} is deregistered, but its snapshot is still used: {ex.Message}.", ami.SnapshotId,
                        "Deregister the other AMI that uses the snapshot (it was copied or registered again), then run Unregister-OpenBsdAmi again.", ex);
                }
            }

            if (!string.IsNullOrEmpty(ami.StagedObject) && S3Location.TryParse(ami.StagedObject, out var staged, out _))
            {
                using var s3 = S3ImageConnection.Open(new AwsConnectionOptions
                {
                    Region = ec2.Region, ProfileName = aws.ProfileName, ProfileLocation = aws.ProfileLocation, AccessKey = aws.AccessKey,
                    SecretKey = aws.SecretKey, SessionToken = aws.SessionToken, EndpointUrl = s3EndpointUrl ?? ami.S3EndpointUrl,
                }, reporter);
                await s3.Store.DeleteAsync(staged!, cancellationToken).ConfigureAwait(false);
                reporter.Verbose($"Deleted the staged disk {staged}");
            }
        }

        private static OpenBsdAmi ToAmi(Image image, Ec2Connection ec2, Uri? s3EndpointUrl, AwsConnectionOptions aws) => new OpenBsdAmi
        {
            Connection = new AwsConnectionOptions
            {
                Region = ec2.Region, ProfileName = aws.ProfileName, ProfileLocation = aws.ProfileLocation, AccessKey = aws.AccessKey,
                SecretKey = aws.SecretKey, SessionToken = aws.SessionToken, EndpointUrl = ec2.Endpoint,
            },
            ImageId = image.ImageId,
            Name = image.Name ?? "",
            Region = ec2.Region,
            State = image.State?.Value ?? "",
            Architecture = image.Architecture?.Value ?? "",
            Version = AmiTags.Get(image.Tags, AmiTags.Version) ?? "",
            ImageSha256 = AmiTags.Get(image.Tags, AmiTags.ImageSha256) ?? "",
            KernelSha256 = AmiTags.Get(image.Tags, AmiTags.KernelSha256),
            ModuleVersion = AmiTags.Get(image.Tags, AmiTags.ModuleVersion),
            BuildUser = AmiTags.Get(image.Tags, Ec2Tags.BuildUser),
            StagedObject = AmiTags.Get(image.Tags, AmiTags.StagedObject),
            SnapshotId = image.BlockDeviceMappings?.FirstOrDefault(m => m.DeviceName == image.RootDeviceName)?.Ebs?.SnapshotId,
            BootMode = image.BootMode?.Value,
            EnaSupport = image.EnaSupport ?? false,
            ImdsSupport = image.ImdsSupport?.Value,
            Created = Ec2Tags.ParseTime(image.CreationDate) ?? default,
            Description = image.Description,
            EndpointUrl = ec2.Endpoint,
            S3EndpointUrl = s3EndpointUrl,
        };
    }

    /// <summary>The handle an OpenBsdAmi holds, typed again (the model assembly may not name engine types; Model/EngineState.cs).</summary>
    internal static class AmiHandles
    {
        extension(OpenBsdAmi ami)
        {
            /// <summary>The connection that listed or made it, so it is removed where it was found.</summary>
            internal AwsConnectionOptions? Connection
            {
                get => (AwsConnectionOptions?)ami.ConnectionState;
                set => ami.ConnectionState = value;
            }
        }
    }
}
