using System;

namespace OpenBsdBuild.Cloud.Aws
{
    /// <summary>How to reach AWS, named as AWS.Tools for PowerShell names it.</summary>
    public sealed class AwsConnectionOptions
    {
        public string? Region { get; set; }
        public string? ProfileName { get; set; }
        public string? ProfileLocation { get; set; }
        public string? AccessKey { get; set; }
        public string? SecretKey { get; set; }
        public string? SessionToken { get; set; }
        public Uri? EndpointUrl { get; set; }
    }
}
