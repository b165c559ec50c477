using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Cloud.S3;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.ImageStore
{
    /// <summary>
    /// What the image cmdlets do, wherever images are kept: an S3 prefix (with credentials resolved
    /// as for EC2) or a local folder. Everything comes back as <see cref="OpenBsdImage"/>s.
    /// </summary>
    public static class ImageLibrary
    {
        /// <summary>
        /// The images at <paramref name="location"/> (an s3:// prefix or a local folder, newest first),
        /// or the one image it names. Unusable images come back as problems, never silently dropped.
        /// </summary>
        public static async Task<(IReadOnlyList<OpenBsdImage> Images, IReadOnlyList<OpenBsdBuildException> Problems)> FindAsync(
            string location, string? versionPattern, string? architecturePattern, AwsConnectionOptions aws, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            if (NamesOneImage(location))
            {
                var one = await GetAsync(location, aws, reporter, cancellationToken).ConfigureAwait(false);
                bool wanted = ImageCatalog.WildcardMatcher(versionPattern)(one.Version) && ImageCatalog.WildcardMatcher(architecturePattern)(one.Architecture);
                return (wanted ? new[] { one } : Array.Empty<OpenBsdImage>(), Array.Empty<OpenBsdBuildException>());
            }
            if (S3Location.IsS3Uri(location))
            {
                var prefix = S3Location.Parse(location, "Location");
                using var s3 = S3ImageConnection.Open(aws, reporter);
                reporter.Verbose($"Listing images under {prefix} ({s3.Describe()})");
                var listing = await s3.Store.ListAsync(prefix, versionPattern, architecturePattern, cancellationToken).ConfigureAwait(false);
                return (listing.Images.Select(s3.Wrap).ToList(), listing.Problems);
            }
            reporter.Verbose($"Listing images in the folder {Path.GetFullPath(location)}");
            var local = await LocalImageCatalog.ListAsync(location, versionPattern, architecturePattern, cancellationToken).ConfigureAwait(false);
            return (local.Images.Select(i => i.ToImage()).ToList(), local.Problems);
        }

        /// <summary>The one image at an s3:// key or a local path, with its metadata checked against the file.</summary>
        public static async Task<OpenBsdImage> GetAsync(string location, AwsConnectionOptions aws, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            if (!S3Location.IsS3Uri(location))
                return (await LocalImageCatalog.GetAsync(location, cancellationToken).ConfigureAwait(false)).ToImage();
            var key = S3Location.Parse(location, "Image");
            using var s3 = S3ImageConnection.Open(aws, reporter);
            reporter.Verbose($"Reading {key} and its metadata ({s3.Describe()})");
            return s3.Wrap(await s3.Store.GetAsync(key, cancellationToken).ConfigureAwait(false));
        }

        /// <summary>
        /// Uploads a local image and its metadata under <paramref name="destination"/> (a prefix). The
        /// file is hashed while it uploads and must match the metadata's SHA-256; on any failure the
        /// multipart upload is aborted and nothing of this attempt stays in the bucket.
        /// </summary>
        public static async Task<OpenBsdImage> PublishAsync(OpenBsdImage image, S3Location destination, bool overwrite, S3PublishOptions publish,
            AwsConnectionOptions aws, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            if (image.S3Location != null)
                throw OpenBsdBuildException.BadParameter("Image", image.Location, "is already in S3; only local images are published.",
                    "Pass the local image file (or the object New-OpenBsdImage returned).");
            if (!destination.IsFolder && ImageCatalog.IsImageName(destination.Name))
                throw OpenBsdBuildException.BadParameter("Destination", destination, "names an image, not a prefix; the image keeps its file name.",
                    $"Pass the folder, for example s3://{destination.Bucket}/{destination.Key.Substring(0, destination.Key.Length - destination.Name.Length)}.");
            using var s3 = S3ImageConnection.Open(aws, reporter, publish);
            reporter.Verbose($"Publishing {image.Location} ({image.Size:N0} bytes) to {destination} ({s3.Describe()}, {publish.PartSize / S3ImageStore.MiB} MiB parts, {publish.PartsInFlight} at once)");
            var stored = await s3.Store.PublishAsync(image.Location, image.Metadata, destination, overwrite, reporter, cancellationToken).ConfigureAwait(false);
            return s3.Wrap(stored);
        }

        /// <summary>Deletes an image and its sidecar (the sidecar first, so nothing offers a half-removed image).</summary>
        public static async Task RemoveAsync(OpenBsdImage image, AwsConnectionOptions aws, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            if (image.S3Location != null)
            {
                using var s3 = S3ImageConnection.Open(WithImageDefaults(aws, image), reporter);
                reporter.Verbose($"Deleting {image.MetadataLocation} and {image.Location} ({s3.Describe()})");
                await s3.Store.RemoveAsync(image.S3Location, cancellationToken).ConfigureAwait(false);
                return;
            }
            foreach (string path in new[] { image.MetadataLocation, image.Location })
            {
                reporter.Verbose($"Deleting {path}");
                try
                {
                    File.Delete(path);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    throw new OpenBsdBuildException("ImageRemoveFailed", FailureKind.WriteError,
                        $"Could not delete '{path}': {ex.Message}", path, "Check the folder's permissions.", ex);
                }
            }
        }

        /// <summary>
        /// A GET URL for the image that a host can fetch it with. It expires with the host (never later
        /// than 7 days); a host with no end of its own gets <paramref name="unboundedValidity"/>.
        /// </summary>
        public static PresignedImageUrl Presign(OpenBsdImage image, DateTime? hostExpiresAt, TimeSpan unboundedValidity,
            AwsConnectionOptions aws, IOperationReporter reporter)
        {
            if (image.S3Location == null) throw new ArgumentException("The image is not in S3.", nameof(image));
            using var s3 = S3ImageConnection.Open(WithImageDefaults(aws, image), reporter);
            var url = s3.Store.Presign(image.S3Location, hostExpiresAt ?? DateTime.UtcNow + unboundedValidity, s3.CredentialsExpireAt);
            reporter.Verbose($"Presigned a GET URL for {image.Location}, valid until {url.ExpiresAt:u}");
            if (url.LimitedByCredentials)
                reporter.Warning($"The URL for {image.Location} dies with the temporary credentials that signed it, at {url.ExpiresAt:u}.");
            return url;
        }

        /// <summary>An image found by Get-OpenBsdImage is reached again where it was found, unless told otherwise.</summary>
        public static AwsConnectionOptions WithImageDefaults(AwsConnectionOptions aws, OpenBsdImage image) => new AwsConnectionOptions
        {
            Region = aws.Region ?? image.Region,
            ProfileName = aws.ProfileName,
            ProfileLocation = aws.ProfileLocation,
            AccessKey = aws.AccessKey,
            SecretKey = aws.SecretKey,
            SessionToken = aws.SessionToken,
            EndpointUrl = aws.EndpointUrl ?? image.EndpointUrl,
        };

        private static bool NamesOneImage(string location)
        {
            if (S3Location.IsS3Uri(location))
                return S3Location.TryParse(location, out var s3, out _) && !s3!.IsFolder &&
                       (ImageCatalog.IsImageName(s3.Name) || ImageCatalog.IsSidecarName(s3.Name));
            return File.Exists(Path.GetFullPath(location));
        }
    }

    /// <summary>How an image is uploaded: part size and how many parts are in flight.</summary>
    public sealed class S3PublishOptions
    {
        public long PartSize { get; set; } = S3ImageStore.DefaultPartSize;
        public int PartsInFlight { get; set; } = S3ImageStore.DefaultPartsInFlight;
    }

    /// <summary>An S3 client for the image cmdlets: credentials and region as the EC2 cmdlets resolve them, <c>EndpointUrl</c> as the S3 endpoint.</summary>
    internal sealed class S3ImageConnection : IDisposable
    {
        private readonly IAmazonS3 _client;
        private readonly string _credentialSource;

        private S3ImageConnection(IAmazonS3 client, S3ImageStore store, string region, Uri? endpoint, string credentialSource, DateTime? credentialsExpireAt)
        {
            _client = client;
            Store = store;
            Region = region;
            Endpoint = endpoint;
            _credentialSource = credentialSource;
            CredentialsExpireAt = credentialsExpireAt;
        }

        public S3ImageStore Store { get; }
        public string Region { get; }
        public Uri? Endpoint { get; }
        public DateTime? CredentialsExpireAt { get; }

        public static S3ImageConnection Open(AwsConnectionOptions options, IOperationReporter reporter, S3PublishOptions? publish = null)
        {
            var (credentials, source, region) = AwsCredentialChain.Resolve(options);
            var client = S3ClientFactory.Create(region, credentials, options.EndpointUrl);
            AwsRequestTrace.Attach(client, region, reporter);
            try
            {
                var store = publish == null ? new S3ImageStore(client) : new S3ImageStore(client, publish.PartSize, publish.PartsInFlight);
                return new S3ImageConnection(client, store, region, options.EndpointUrl, source, S3ClientFactory.CredentialsExpiration(credentials));
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        public string Describe() => $"region {Region}{(Endpoint == null ? "" : ", endpoint " + Endpoint)}, credentials from {_credentialSource}";

        public OpenBsdImage Wrap(StoredImage stored) => stored.ToImage(Region, Endpoint);

        public void Dispose() => _client.Dispose();
    }
}
