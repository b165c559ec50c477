using System;
using Xunit;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Tests.Cloud
{
    public sealed class S3LocationTests
    {
        [Theory]
        [InlineData("s3://releases/golden/openbsd-7.9-arm64.qcow2", "releases", "golden/openbsd-7.9-arm64.qcow2", false)]
        [InlineData("S3://releases/golden/", "releases", "golden/", true)]
        [InlineData("s3://releases", "releases", "", true)]
        [InlineData("s3://releases/", "releases", "", true)]
        [InlineData("  s3://my.bucket-1/a b/c.qcow2 ", "my.bucket-1", "a b/c.qcow2", false)]
        public void Parses_bucket_and_key(string text, string bucket, string key, bool isFolder)
        {
            var location = S3Location.Parse(text);

            Assert.Equal(bucket, location.Bucket);
            Assert.Equal(key, location.Key);
            Assert.Equal(isFolder, location.IsFolder);
            Assert.Equal(location, S3Location.Parse(location.ToString()));
        }

        [Theory]
        [InlineData(null, "required")]
        [InlineData("", "required")]
        [InlineData("releases/golden/x.qcow2", "must start with s3://")]
        [InlineData("https://releases.s3.amazonaws.com/x.qcow2", "'https' is not S3")]
        [InlineData("s3://", "bucket name is missing")]
        [InlineData("s3:///golden/x.qcow2", "bucket name is missing")]
        [InlineData("s3://Releases/x.qcow2", "'Releases' is not a valid bucket name")]
        [InlineData("s3://my_bucket/x.qcow2", "'my_bucket' is not a valid bucket name")]
        [InlineData("s3://ab/x.qcow2", "'ab' is not a valid bucket name")]
        [InlineData("s3://192.168.1.1/x.qcow2", "not a valid bucket name")]
        [InlineData("s3://releases//x.qcow2", "starts with '/'")]
        public void Rejects_bad_locations_naming_the_value_and_the_fix(string? text, string problem)
        {
            var error = Assert.Throws<OpenBsdBuildException>(() => S3Location.Parse(text, "Image"));

            Assert.Equal("InvalidParameter.Image", error.ErrorId);
            Assert.Equal(FailureKind.InvalidArgument, error.Kind);
            Assert.Contains(problem, error.Message);
            Assert.StartsWith($"-Image '{text}'", error.Message);
            Assert.Contains("s3://bucket/prefix/key", error.RecommendedAction);
        }

        [Fact]
        public void Rejects_keys_longer_than_s3_allows()
        {
            var error = Assert.Throws<OpenBsdBuildException>(() => S3Location.Parse("s3://releases/" + new string('k', 1025)));
            Assert.Contains("1024 bytes", error.Message);
        }

        [Fact]
        public void Appends_names_as_folder_children_and_adds_suffixes()
        {
            Assert.Equal("s3://releases/golden/x.qcow2", S3Location.Parse("s3://releases/golden").Append("x.qcow2").ToString());
            Assert.Equal("s3://releases/golden/x.qcow2", S3Location.Parse("s3://releases/golden/").Append("x.qcow2").ToString());
            Assert.Equal("s3://releases/x.qcow2", S3Location.Parse("s3://releases").Append("x.qcow2").ToString());
            var image = S3Location.Parse("s3://releases/golden/x.qcow2");
            Assert.Equal("x.qcow2", image.Name);
            Assert.Equal("s3://releases/golden/x.qcow2.json", image.WithSuffix(".json").ToString());
            Assert.Throws<InvalidOperationException>(() => S3Location.Parse("s3://releases/golden/").WithSuffix(".json"));
        }
    }
}
