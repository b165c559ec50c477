using System;
using Xunit;
using OpenBsdBuild.ImageStore;

namespace OpenBsdBuild.Tests.Cloud
{
    public sealed class PresignExpiryTests
    {
        private static readonly DateTime Now = new DateTime(2025, 11, 3, 10, 0, 0, DateTimeKind.Utc);

        [Fact]
        public void Expires_with_the_host()
        {
            Assert.Equal(Now.AddHours(3), PresignExpiry.Compute(Now, Now.AddHours(3)));
        }

        [Fact]
        public void Never_outlives_sigv4s_seven_days()
        {
            Assert.Equal(Now.AddDays(7), PresignExpiry.Compute(Now, Now.AddDays(30)));
            Assert.Equal(Now.AddDays(7), PresignExpiry.Compute(Now, DateTime.MaxValue));
        }

        [Fact]
        public void Never_shorter_than_the_download_needs()
        {
            Assert.Equal(Now.AddMinutes(15), PresignExpiry.Compute(Now, Now.AddMinutes(5)));
            Assert.Equal(Now.AddMinutes(15), PresignExpiry.Compute(Now, Now.AddHours(-1)));
            Assert.Equal(Now.AddMinutes(45), PresignExpiry.Compute(Now, Now.AddMinutes(20), TimeSpan.FromMinutes(45)));
        }

        [Fact]
        public void Reads_local_times_as_local_and_unspecified_as_utc()
        {
            var local = Now.AddHours(2).ToLocalTime();
            Assert.Equal(Now.AddHours(2), PresignExpiry.Compute(Now, local));
            Assert.Equal(Now.AddHours(2), PresignExpiry.Compute(Now, DateTime.SpecifyKind(Now.AddHours(2), DateTimeKind.Unspecified)));
            Assert.Equal(DateTimeKind.Utc, PresignExpiry.Compute(Now, local).Kind);
        }

        [Fact]
        public void Rejects_a_minimum_beyond_seven_days()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => PresignExpiry.Compute(Now, Now.AddDays(1), TimeSpan.FromDays(8)));
        }
    }
}
