using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Amazon.Runtime;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Cloud.Aws
{
    /// <summary>
    /// AWS answers that mean "your credentials are the problem", whichever call meets them first:
    /// they become one clear error instead of an unexpected exception.
    /// </summary>
    public static class AwsErrors
    {
        private static readonly HashSet<string> Rejected = new HashSet<string>(StringComparer.Ordinal)
        {
            "AuthFailure", "ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId",
            "UnrecognizedClientException", "SignatureDoesNotMatch", "InvalidAccessKeyId", "IncompleteSignature", "InvalidToken",
        };

        private static readonly HashSet<string> Denied = new HashSet<string>(StringComparer.Ordinal)
        {
            "UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "OptInRequired",
        };

        /// <summary>The user-facing error for an AWS failure about credentials, permissions or reaching AWS at all; null for anything else.</summary>
        public static OpenBsdBuildException? Translate(Exception ex)
        {
            // Only what failed inside the SDK's own pipeline: the engine's other HTTP calls translate their failures where they make them.
            if (FindTransportFailure(ex) is Exception transport && (ex.StackTrace ?? "").Contains("Amazon.Runtime"))
                return new OpenBsdBuildException("AwsEndpointUnreachable", FailureKind.ConnectionError,
                    $"Could not reach AWS: {transport.Message}", null,
                    "Check the network and proxy settings, -Region, and -EndpointUrl if one is given.", ex);
            if (!(ex is AmazonServiceException aws)) return null;
            // An HTTP 5xx, or an answer that is not AWS's XML/JSON at all (a proxy's error page): AWS's side, not a bug here.
            if ((int)aws.StatusCode >= 500 || string.IsNullOrEmpty(aws.ErrorCode) || ex is AmazonUnmarshallingException)
                return new OpenBsdBuildException("AwsServiceError", FailureKind.ResourceUnavailable,
                    $"AWS answered HTTP {(int)aws.StatusCode}{(string.IsNullOrEmpty(aws.ErrorCode) ? "" : " " + aws.ErrorCode)} " +
                    $"(request id {(string.IsNullOrEmpty(aws.RequestId) ? "none" : aws.RequestId)}): {Shorten(aws.Message)}", (int)aws.StatusCode,
                    "Try again in a few minutes; if it persists, check the AWS Health Dashboard, or -EndpointUrl and any proxy between here and AWS.", ex);
            if (Rejected.Contains(aws.ErrorCode))
                return new OpenBsdBuildException("AwsCredentialsRejected", FailureKind.AuthenticationError,
                    $"AWS rejected the credentials ({aws.ErrorCode}: {aws.Message}).", aws.ErrorCode,
                    "Refresh them (aws sso login, or new temporary keys) or pass others with -ProfileName, -AccessKey/-SecretKey or -Credential.", ex);
            if (Denied.Contains(aws.ErrorCode))
                return new OpenBsdBuildException("AwsPermissionDenied", FailureKind.PermissionDenied,
                    $"The AWS credentials may not do this ({aws.ErrorCode}: {aws.Message}).", aws.ErrorCode,
                    "Grant the IAM identity the EC2 actions the module uses (RunInstances, TerminateInstances, DescribeInstances, Create/DeleteSecurityGroup, Import/DeleteKeyPair, CreateTags, GetConsoleOutput), or use another profile.", ex);
            return null;
        }

        private static string Shorten(string? text)
        {
            string oneLine = System.Text.RegularExpressions.Regex.Replace(text ?? "", @"\s+", " ").Trim();
            return oneLine.Length == 0 ? "no message" : oneLine.Length > 200 ? oneLine.Substring(0, 200) + "…" : oneLine;
        }

        /// <summary>The network failure under an exception (refused, unresolved, reset), if that is what it is.</summary>
        internal static Exception? FindTransportFailure(Exception ex)
        {
            for (Exception? e = ex; e != null; e = e.InnerException)
                if (e is HttpRequestException || e is SocketException || e is WebException) return e;
            return null;
        }
    }
}
