using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using Amazon.S3.Model;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// The test guest image published to s3rver, then booted from s3:// on a local host: fetched by
    /// the host through a presigned URL, checked against the metadata's SHA-256 before boot, and
    /// the guest's host key pinned from the metadata (no trust on first use).
    /// </summary>
    [Collection(S3rverCollection.Name)]
    public sealed class S3GuestImageTests : IDisposable
    {
        private readonly S3rverFixture _s3rver;
        private readonly string _state = Directory.CreateTempSubdirectory("obb-s3guest-").FullName;
        private readonly ScratchFolder _scratch = new ScratchFolder();
        private readonly PsSession _ps = new PsSession();
        private readonly string _prefix = "s3://images/guests/" + Guid.NewGuid().ToString("N") + "/";

        public S3GuestImageTests(S3rverFixture s3rver)
        {
            _s3rver = s3rver;
            var r = _ps.Run($"$local = Connect-MetalHost -Local -StateDirectory '{_state}'");
            Assert.False(r.HadErrors, r.Describe());
        }

        public void Dispose()
        {
            _ps.Run("$local | Remove-MetalHost");
            _ps.Dispose();
            _scratch.Dispose();
            Directory.Delete(_state, true);
        }

        private string Aws => $"-Region us-east-1 -AccessKey {S3rverFixture.AccessKey} -SecretKey {S3rverFixture.SecretKey} -EndpointUrl {_s3rver.Endpoint}";

        private string ImagesOnHost => Path.Combine(_state, "images");

        [Fact]
        public void A_guest_boots_from_an_s3_image_checked_on_the_host_with_its_host_key_pinned_by_the_metadata()
        {
            var image = TestGuestImage.Get();
            var published = _ps.Run($"Publish-OpenBsdImage -Image '{image.Path}' -Destination {_prefix} {Aws} -PassThru");
            Assert.False(published.HadErrors, published.Describe());
            string key = published.Single<OpenBsdImage>().Location;

            // No -HostKeyFingerprint and no -TrustHostKey: the pin can only come from the published metadata.
            var started = _ps.Run($"$g = $local | Start-OpenBsdGuest -Image {key} {Aws} -KeyFile '{image.KeyFile}' -Memory 512MB -CpuCount 1 -Verbose; $g");
            Assert.False(started.HadErrors, started.Describe());
            var guest = started.Single<OpenBsdGuest>();
            Assert.Equal(image.HostKeyFingerprint, guest.HostKeyFingerprint);
            Assert.Equal("build", guest.User);
            Assert.StartsWith(ImagesOnHost + "/", guest.Image);
            Assert.Equal(TestImages.Sha256Of(image.Path), TestImages.Sha256Of(guest.Image));
            Assert.True(File.Exists(guest.Image + ImageMetadata.SidecarSuffix));
            Assert.Contains(started.Verbose, v => v.Message.Contains("presigned URL"));
            Assert.Contains(started.Verbose, v => v.Message.Contains("checked on the host"));
            Assert.Contains(started.Progress, p => p.Activity.StartsWith("Fetching guest.qcow2"));
            // The signed URL is a secret: it appears in no record. The download command shows; the URL was its stdin.
            Assert.DoesNotContain(started.Verbose, v => v.Message.Contains("X-Amz-Signature"));
            Assert.Contains(started.Verbose, v => v.Message.StartsWith("local: ") && v.Message.Contains(" -K - ") && v.Message.EndsWith("  # stdin: data"));
            Assert.Empty(Directory.GetFiles(ImagesOnHost, "*.partial-*"));

            var ran = _ps.Run("$g | Invoke-GuestBuild -Command 'echo pinned-ok'");
            Assert.False(ran.HadErrors, ran.Describe());
            Assert.Contains(ran.Information, i => i.MessageData.ToString() == "pinned-ok");
            Assert.False(_ps.Run("$g | Stop-OpenBsdGuest -GracePeriod 00:00:10").HadErrors);

            // The image object from Get-OpenBsdImage carries region and endpoint; the host's verified copy is reused.
            var again = _ps.Run($"$img = Get-OpenBsdImage {key} {Aws}; $local | Start-OpenBsdGuest -Image $img -AccessKey S3RVER -SecretKey S3RVER -KeyFile '{image.KeyFile}' -Memory 512MB -CpuCount 1 -WhatIf -Verbose");
            Assert.False(again.HadErrors, again.Describe());
            Assert.Contains($"from image {key}", _ps.Host.Text);
        }

        [Fact]
        public async Task An_s3_image_whose_bytes_do_not_match_its_metadata_is_never_booted_and_leaves_nothing_on_the_host()
        {
            string path = _scratch.WriteRandomFile("tampered.qcow2", 2 * 1024 * 1024);
            var metadata = TestImages.Metadata();
            metadata.Size = new FileInfo(path).Length;
            metadata.Sha256 = TestImages.Sha256Of(path);
            _scratch.WriteText("tampered.qcow2.json", metadata.ToJson());
            var published = _ps.Run($"Publish-OpenBsdImage -Image '{path}' -Destination {_prefix} {Aws} -PassThru");
            Assert.False(published.HadErrors, published.Describe());
            var stored = published.Single<OpenBsdImage>();

            // Same size, other bytes: only the checksum can tell.
            string other = _scratch.WriteRandomFile("other.bin", metadata.Size, seed: 7);
            using (var client = _s3rver.CreateClient())
                await client.PutObjectAsync(new PutObjectRequest { BucketName = S3rverFixture.Bucket, Key = stored.S3Location!.Key, FilePath = other });

            var r = _ps.Run($"$local | Start-OpenBsdGuest -Image {stored.Location} {Aws} -TrustHostKey -KeyFile '{other}' -Memory 512MB -CpuCount 1");
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.ImageChecksumMismatch,", e!.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidData, e.CategoryInfo.Category);
            Assert.Contains(metadata.Sha256, e.Exception.Message);
            Assert.Empty(r.All<OpenBsdGuest>());
            Assert.Empty(Tools.QemuProcesses(_state));
            Assert.DoesNotContain(Directory.GetFiles(ImagesOnHost), f => !f.EndsWith(".json"));
        }

        [Fact]
        public void A_missing_s3_image_is_not_found_and_nothing_starts()
        {
            string key = _scratch.WriteText("id_ed25519", "not used");
            var missing = _ps.Run($"$local | Start-OpenBsdGuest -Image {_prefix}nothing.qcow2 {Aws} -TrustHostKey -KeyFile '{key}' -Memory 512MB");
            Assert.StartsWith("OpenBsdBuild.ImageNotFound,", missing.FirstError!.FullyQualifiedErrorId);
            Assert.Empty(Tools.QemuProcesses(_state));
        }
    }
}
