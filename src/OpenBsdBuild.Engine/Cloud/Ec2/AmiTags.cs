using System.Collections.Generic;
using System.Linq;
using Amazon.EC2.Model;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>The tags Register-OpenBsdAmi puts on an AMI and its snapshot; Get-OpenBsdAmi finds AMIs by them.</summary>
    public static class AmiTags
    {
        public const string Version = "openbsdbuild:openbsd-version";
        /// <summary>Present on every AMI this module registered: the golden image's SHA-256.</summary>
        public const string ImageSha256 = "openbsdbuild:image-sha256";
        public const string KernelSha256 = "openbsdbuild:kernel-sha256";
        public const string ModuleVersion = "openbsdbuild:module-version";
        /// <summary>s3://bucket/key of the raw disk the snapshot was imported from (deleted with the AMI).</summary>
        public const string StagedObject = "openbsdbuild:staged-object";

        /// <param name="buildUser">The image's build user, for whom its agent installs the instance's key (<see cref="Ec2Tags.BuildUser"/>: New-OpenBsdInstance's default login).</param>
        public static List<Tag> For(string name, string version, string imageSha256, string? kernelSha256, string moduleVersion, S3Location staged,
            string? buildUser)
        {
            var tags = new List<Tag>
            {
                new Tag("Name", name),
                new Tag(Version, version),
                new Tag(ImageSha256, imageSha256),
                new Tag(ModuleVersion, moduleVersion),
                new Tag(StagedObject, staged.ToString()),
            };
            if (!string.IsNullOrEmpty(kernelSha256)) tags.Add(new Tag(KernelSha256, kernelSha256));
            if (!string.IsNullOrEmpty(buildUser)) tags.Add(new Tag(Ec2Tags.BuildUser, buildUser));
            return tags;
        }

        public static string? Get(IEnumerable<Tag>? tags, string key) => tags?.FirstOrDefault(t => t.Key == key)?.Value;
    }
}
