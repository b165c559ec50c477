using System.Management.Automation;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>An AWS or S3 endpoint that nobody answers is a connection error that says so, for EC2 and S3 cmdlets alike.</summary>
    public sealed class AwsUnreachableTests
    {
        [Theory]
        [InlineData("Get-MetalHost", "AwsEndpointUnreachable")]
        [InlineData("Get-OpenBsdImage s3://images/any/", "S3Unreachable")]
        public void A_closed_endpoint_is_a_clear_connection_error(string command, string id)
        {
            // A port that was free a moment ago: connections are refused at once.
            int port = FreePort.OnLoopback();

            using var ps = new PsSession();
            var r = ps.Run($"{command} -Region us-east-1 -AccessKey AKIDEXAMPLE -SecretKey secret -EndpointUrl http://127.0.0.1:{port}/");
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith($"OpenBsdBuild.{id},", e!.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
            Assert.Contains($"127.0.0.1:{port}", e.Exception.Message);
            Assert.Contains("endpoint", e.ErrorDetails.RecommendedAction, System.StringComparison.OrdinalIgnoreCase);
        }
    }
}
