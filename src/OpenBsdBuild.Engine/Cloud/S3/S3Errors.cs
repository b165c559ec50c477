using System;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Cloud.S3
{
    /// <summary>Turns SDK failures into <see cref="OpenBsdBuildException"/>s a user can act on.</summary>
    internal static class S3Errors
    {
        public const string Permissions =
            "s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject and s3:AbortMultipartUpload";

        /// <summary>Whether <paramref name="ex"/> says the object (not the bucket) does not exist.</summary>
        public static bool IsMissingObject(Exception ex) =>
            ex is AmazonS3Exception s3 &&
            (s3.ErrorCode == "NoSuchKey" || (s3.StatusCode == HttpStatusCode.NotFound && s3.ErrorCode != "NoSuchBucket"));

        public static bool IsMissingBucket(Exception ex) => ex is AmazonS3Exception { ErrorCode: "NoSuchBucket" };

        /// <summary>
        /// Translates <paramref name="ex"/>, or returns null when it is not an S3/transport failure
        /// (cancellation and our own exceptions pass through untouched).
        /// </summary>
        /// <param name="doing">What was being done, as "publishing the image", for the message.</param>
        public static OpenBsdBuildException? Translate(Exception ex, string doing, S3Location target)
        {
            if (ex is OperationCanceledException || ex is OpenBsdBuildException) return null;

            if (ex is AmazonS3Exception s3)
            {
                string detail = $"{s3.ErrorCode ?? ((int)s3.StatusCode).ToString()}: {s3.Message}";
                switch (s3.ErrorCode)
                {
                    case "NoSuchBucket":
                        return new OpenBsdBuildException("S3BucketNotFound", FailureKind.ObjectNotFound,
                            $"The bucket '{target.Bucket}' does not exist (while {doing}).", target,
                            $"Check the bucket name and the region or endpoint, or create the bucket (aws s3 mb s3://{target.Bucket}).", ex);
                    case "AccessDenied":
                    case "AllAccessDisabled":
                    case "AccountProblem":
                        return new OpenBsdBuildException("S3AccessDenied", FailureKind.PermissionDenied,
                            $"Access to {target} was denied while {doing} ({detail}).", target,
                            $"Use credentials that have {Permissions} on the bucket, or ask its owner for them.", ex);
                    case "InvalidAccessKeyId":
                    case "SignatureDoesNotMatch":
                    case "ExpiredToken":
                    case "InvalidToken":
                    case "TokenRefreshRequired":
                        return new OpenBsdBuildException("S3CredentialsRejected", FailureKind.AuthenticationError,
                            $"S3 rejected the credentials while {doing} ({detail}).", target,
                            "Refresh or correct the AWS credentials (profile, environment or SSO login) and try again.", ex);
                    case "PermanentRedirect":
                    case "AuthorizationHeaderMalformed":
                    case "IllegalLocationConstraintException":
                        return new OpenBsdBuildException("S3WrongRegion", FailureKind.InvalidArgument,
                            $"The bucket '{target.Bucket}' is in another region than the one used ({detail}).", target,
                            $"Pass the bucket's region (aws s3api get-bucket-location --bucket {target.Bucket}).", ex);
                    case "SlowDown":
                    case "ServiceUnavailable":
                    case "InternalError":
                    case "RequestTimeout":
                        return new OpenBsdBuildException("S3Unavailable", FailureKind.ResourceUnavailable,
                            $"S3 did not complete a request while {doing} ({detail}).", target,
                            "Try again in a minute; S3 asked the client to back off or failed temporarily.", ex);
                }
                if (s3.StatusCode == HttpStatusCode.Forbidden)
                    return new OpenBsdBuildException("S3AccessDenied", FailureKind.PermissionDenied,
                        $"Access to {target} was denied while {doing} ({detail}).", target,
                        $"Use credentials that have {Permissions} on the bucket, or ask its owner for them.", ex);
                if (IsMissingObject(s3))
                    return new OpenBsdBuildException("S3ObjectNotFound", FailureKind.ObjectNotFound,
                        $"{target} does not exist (while {doing}).", target,
                        "Check the key; list what the bucket holds with Get-OpenBsdImage.", ex);
                return new OpenBsdBuildException("S3RequestFailed", FailureKind.InvalidOperation,
                    $"S3 refused a request while {doing} ({detail}).", target,
                    "Check the message from S3; if the store is S3-compatible, it may not support this operation.", ex);
            }

            if (AwsErrors.FindTransportFailure(ex) is Exception transport)
                return new OpenBsdBuildException("S3Unreachable", FailureKind.ConnectionError,
                    $"Could not reach S3 while {doing}: {transport.Message}", target,
                    "Check the network, proxy settings and the endpoint URL.", ex);

            if (ex is AmazonClientException)
                return new OpenBsdBuildException("S3ClientError", FailureKind.InvalidOperation,
                    $"The S3 client failed while {doing}: {ex.Message}", target,
                    "Check the AWS credentials and configuration.", ex);
            return null;
        }

        /// <summary>Translates and throws when <paramref name="ex"/> is an S3 failure; otherwise returns so the caller rethrows.</summary>
        public static void ThrowTranslated(Exception ex, string doing, S3Location target)
        {
            var translated = Translate(ex, doing, target);
            if (translated != null) throw translated;
        }
    }
}
