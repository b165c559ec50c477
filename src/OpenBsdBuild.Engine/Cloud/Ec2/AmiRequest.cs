using System;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>What Register-OpenBsdAmi was asked for, beyond the image and the AWS connection.</summary>
    public sealed class AmiRequest
    {
        /// <summary>The AMI's name; by default the image's file name and the start of its SHA-256.</summary>
        public string? Name { get; set; }
        public string? Description { get; set; }
        /// <summary>The s3:// prefix the raw disk is staged under (a bucket in the AMI's region).</summary>
        public S3Location Staging { get; set; } = null!;
        /// <summary>The service role VM Import uses to read the bucket.</summary>
        public string RoleName { get; set; } = "vmimport";
        /// <summary>The S3 endpoint of the staging bucket (null: AWS's own).</summary>
        public Uri? S3EndpointUrl { get; set; }
        public S3PublishOptions Upload { get; set; } = new S3PublishOptions();
        /// <summary>Register an image not made with -Target Ec2 (it must configure itself on EC2 some other way).</summary>
        public bool AnyTarget { get; set; }
        public TimeSpan PollInterval { get; set; } = SnapshotImport.DefaultPollInterval;
    }
}
