using Amazon.Runtime;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Cloud.Aws
{
    /// <summary>One verbose line per AWS request (every attempt, so retries under throttling show too).</summary>
    internal static class AwsRequestTrace
    {
        public static void Attach(AmazonServiceClient client, string region, IOperationReporter? reporter)
        {
            if (reporter == null) return;
            client.BeforeRequestEvent += (sender, e) =>
            {
                if (e is WebServiceRequestEventArgs request)
                    reporter.Verbose($"AWS {request.ServiceName} {Operation(request.Request)} ({region})");
            };
        }

        private static string Operation(AmazonWebServiceRequest? request)
        {
            string name = request?.GetType().Name ?? "request";
            return name.EndsWith("Request") ? name.Substring(0, name.Length - "Request".Length) : name;
        }
    }
}
