using System;
using Amazon;
using Xunit;
using OpenBsdBuild.Cloud.S3;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Tests.Cloud
{
    public sealed class S3ClientFactoryTests
    {
        [Fact]
        public void Aws_config_uses_the_region_endpoint()
        {
            var config = S3ClientFactory.CreateConfig("eu-west-1");

            Assert.Equal(RegionEndpoint.EUWest1, config.RegionEndpoint);
            Assert.Null(config.ServiceURL);
            Assert.False(config.ForcePathStyle);
        }

        [Fact]
        public void Compatible_store_config_uses_path_style_and_signs_for_the_region()
        {
            var config = S3ClientFactory.CreateConfig("us-east-1", new Uri("http://127.0.0.1:4569/"));

            Assert.StartsWith("http://127.0.0.1:4569", config.ServiceURL);
            Assert.True(config.ForcePathStyle);
            Assert.True(config.UseHttp);
            Assert.Equal("us-east-1", config.AuthenticationRegion);
        }

        [Theory]
        [InlineData("")]
        [InlineData("eu west 1")]
        [InlineData("EU-WEST-1")]
        public void Rejects_a_region_that_is_not_one(string region)
        {
            var error = Assert.Throws<OpenBsdBuildException>(() => S3ClientFactory.CreateConfig(region));
            Assert.Equal("InvalidParameter.Region", error.ErrorId);
        }

        [Fact]
        public void Rejects_an_endpoint_that_is_not_http()
        {
            var error = Assert.Throws<OpenBsdBuildException>(() => S3ClientFactory.CreateConfig("us-east-1", new Uri("ftp://127.0.0.1/")));
            Assert.Equal("InvalidParameter.EndpointUrl", error.ErrorId);
        }
    }
}
