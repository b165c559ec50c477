using System;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.S3;
using Amazon.S3.Model;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Cloud.S3
{
    /// <summary>
    /// Builds S3 clients for AWS or for an S3-compatible store (MinIO, Ceph, s3rver) at an endpoint URL.
    /// The caller owns and disposes the client.
    /// </summary>
    public static class S3ClientFactory
    {
        private static readonly Regex AwsRegionPattern = new Regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", RegexOptions.CultureInvariant);
        // Compatible stores accept region names of their own ("garage", "local").
        private static readonly Regex AnyRegionPattern = new Regex("^[A-Za-z0-9][A-Za-z0-9_-]*$", RegexOptions.CultureInvariant);

        /// <param name="region">The bucket's region, e.g. "eu-west-1"; with an endpoint, the region it signs for.</param>
        /// <param name="credentials">Static or refreshing credentials.</param>
        /// <param name="endpoint">An S3-compatible endpoint such as http://127.0.0.1:4569; null for AWS.</param>
        public static AmazonS3Client Create(string region, AWSCredentials credentials, Uri? endpoint = null)
        {
            if (credentials == null) throw new ArgumentNullException(nameof(credentials));
            var config = CreateConfig(region, endpoint);
            return endpoint == null ? new AmazonS3Client(credentials, config) : new CompatibleStoreClient(credentials, config);
        }

        /// <summary>The client configuration <see cref="Create"/> uses; exposed for callers that build their own client.</summary>
        public static AmazonS3Config CreateConfig(string region, Uri? endpoint = null)
        {
            if (string.IsNullOrWhiteSpace(region) || !(endpoint == null ? AwsRegionPattern : AnyRegionPattern).IsMatch(region))
                throw OpenBsdBuildException.BadParameter("Region", region, "is not an AWS region name.",
                    "Use a region code such as eu-west-1 or us-east-1 (the bucket's region).");
            if (endpoint == null)
                return new AmazonS3Config { RegionEndpoint = RegionEndpoint.GetBySystemName(region) };

            if (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
                throw OpenBsdBuildException.BadParameter("EndpointUrl", endpoint, "is not an http:// or https:// URL.",
                    "Give the store's base URL, for example http://127.0.0.1:4569.");
            return new AmazonS3Config
            {
                ServiceURL = endpoint.GetLeftPart(UriPartial.Authority),
                // Compatible stores rarely serve virtual-host buckets (bucket.127.0.0.1 does not resolve).
                ForcePathStyle = true,
                AuthenticationRegion = region,
                UseHttp = endpoint.Scheme == Uri.UriSchemeHttp,
                // Many compatible stores predate the flexible-checksum headers; send them only when an operation needs them.
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            };
        }

        /// <summary>When temporary credentials expire (null for long-lived keys or when unknown).</summary>
        /// <remarks>A presigned URL stops working when the credentials that signed it expire.</remarks>
        public static DateTime? CredentialsExpiration(AWSCredentials credentials) =>
            (credentials as RefreshingAWSCredentials)?.Expiration?.ToUniversalTime();

        /// <summary>Whether <paramref name="client"/> talks plain HTTP (presigned URLs must then be http:// too).</summary>
        internal static bool UsesHttp(IAmazonS3 client)
        {
            var config = client.Config;
            return config.UseHttp ||
                   (config.ServiceURL != null && config.ServiceURL.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
        }

        /// <summary>
        /// A client that never sends aws-chunked bodies. s3rver (and other compatible stores) store the
        /// chunk framing and signatures as if they were data: the upload "succeeds" and the object is
        /// silently larger and wrong. The request property must be set before marshalling, and the
        /// SDK's BeforeMarshallingEvent is internal in Core 4, hence a pipeline handler; it covers
        /// requests this engine builds and those made by TransferUtility alike.
        /// </summary>
        private sealed class CompatibleStoreClient : AmazonS3Client
        {
            public CompatibleStoreClient(AWSCredentials credentials, AmazonS3Config config) : base(credentials, config) { }

            protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
            {
                base.CustomizeRuntimePipeline(pipeline);
                pipeline.AddHandlerBefore<Marshaller>(new NoChunkEncodingHandler());
            }
        }

        private sealed class NoChunkEncodingHandler : PipelineHandler
        {
            public override void InvokeSync(IExecutionContext executionContext)
            {
                DisableChunkEncoding(executionContext);
                base.InvokeSync(executionContext);
            }

            public override Task<T> InvokeAsync<T>(IExecutionContext executionContext)
            {
                DisableChunkEncoding(executionContext);
                return base.InvokeAsync<T>(executionContext);
            }

            private static void DisableChunkEncoding(IExecutionContext executionContext)
            {
                switch (executionContext.RequestContext.OriginalRequest)
                {
                    case PutObjectRequest put: put.UseChunkEncoding = false; break;
                    case UploadPartRequest part: part.UseChunkEncoding = false; break;
                }
            }
        }
    }
}
