using System;
using System.Collections.Generic;
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
    /// <summary>Publish-, Get- and Remove-OpenBsdImage in a real runspace against a real s3rver.</summary>
    [Collection(S3rverCollection.Name)]
    public sealed class S3ImageCmdletTests : IDisposable
    {
        private const long MiB = 1024 * 1024;
        private readonly S3rverFixture _s3rver;
        private readonly ScratchFolder _scratch = new ScratchFolder();
        private readonly PsSession _ps = new PsSession();
        private readonly string _prefix = "s3://images/cmdlets/" + Guid.NewGuid().ToString("N") + "/";

        public S3ImageCmdletTests(S3rverFixture s3rver) => _s3rver = s3rver;

        public void Dispose()
        {
            _ps.Dispose();
            _scratch.Dispose();
        }

        private string Aws => $"-Region us-east-1 -AccessKey {S3rverFixture.AccessKey} -SecretKey {S3rverFixture.SecretKey} -EndpointUrl {_s3rver.Endpoint}";

        /// <summary>A local image with a complete sidecar, as New-OpenBsdImage leaves it.</summary>
        private string LocalImage(string name, string version, string arch, int day, long size = 3 * MiB, string? sha256 = null)
        {
            string path = _scratch.WriteRandomFile(name, size, seed: day);
            var metadata = TestImages.Metadata(version, arch, new DateTime(2025, 9, day, 0, 0, 0, DateTimeKind.Utc));
            metadata.Size = size;
            metadata.Sha256 = sha256 ?? TestImages.Sha256Of(path);
            _scratch.WriteText(name + ImageMetadata.SidecarSuffix, metadata.ToJson());
            return path;
        }

        private async Task<List<string>> KeysUnderPrefix()
        {
            using var client = _s3rver.CreateClient();
            string key = _prefix.Substring("s3://images/".Length);
            var page = await client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rverFixture.Bucket, Prefix = key });
            return (page.S3Objects ?? new List<S3Object>()).Select(o => o.Key.Substring(key.Length)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        }

        [Fact]
        public async Task Published_images_are_listed_newest_first_with_metadata_and_filters()
        {
            string older = LocalImage("openbsd-7.8-arm64.qcow2", "7.8", "arm64", 1, 20 * MiB + 7);
            string newer = LocalImage("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 5);
            string amd = LocalImage("openbsd-7.9-amd64.qcow2", "7.9", "amd64", 3);

            var published = _ps.Run($"'{older}', '{newer}', '{amd}' | Publish-OpenBsdImage -Destination {_prefix} {Aws} -PartSize 8MB -PassThru -Verbose");
            Assert.False(published.HadErrors, published.Describe());
            Assert.Equal(3, published.All<OpenBsdImage>().Count());
            var first = published.All<OpenBsdImage>().First();
            Assert.Equal(_prefix + "openbsd-7.8-arm64.qcow2", first.Location);
            Assert.Equal("S3", first.Store);
            Assert.Equal(TestImages.Sha256Of(older), first.Sha256);
            // Progress for the transfer, and every external action visible with -Verbose.
            Assert.Contains(published.Progress, p => p.Activity.Contains("openbsd-7.8-arm64.qcow2") && p.PercentComplete > 0 && p.PercentComplete < 100);
            Assert.Contains(published.Verbose, v => v.Message.Contains("Publishing") && v.Message.Contains(_prefix));
            Assert.Contains(published.Verbose, v => v.Message.StartsWith("AWS ") && v.Message.Contains(" UploadPart (us-east-1)"));
            Assert.Equal(new[] { "openbsd-7.8-arm64.qcow2", "openbsd-7.8-arm64.qcow2.json", "openbsd-7.9-amd64.qcow2", "openbsd-7.9-amd64.qcow2.json",
                "openbsd-7.9-arm64.qcow2", "openbsd-7.9-arm64.qcow2.json" }, await KeysUnderPrefix());

            // The bytes in the store are the bytes published.
            using (var client = _s3rver.CreateClient())
            using (var got = await client.GetObjectAsync(S3rverFixture.Bucket, first.S3Location!.Key))
                Assert.Equal(TestImages.Sha256Of(older), TestImages.Sha256Of(got.ResponseStream));

            var all = _ps.Run($"Get-OpenBsdImage {_prefix} {Aws}");
            Assert.False(all.HadErrors, all.Describe());
            Assert.Equal(new[] { "7.9/arm64", "7.9/amd64", "7.8/arm64" }, all.All<OpenBsdImage>().Select(i => i.Version + "/" + i.Architecture));
            var listed = all.All<OpenBsdImage>().Last();
            Assert.Equal(20 * MiB + 7, listed.Size);
            Assert.Equal("build", listed.BuildUser);
            Assert.Equal(new[] { "rust-1.86.0" }, listed.Packages);
            Assert.Equal(listed.Sha256.Substring(0, 12), listed.ShortSha256);
            Assert.Equal("us-east-1", listed.Region);
            Assert.Equal(_s3rver.Endpoint, listed.EndpointUrl);

            var filtered = _ps.Run($"Get-OpenBsdImage {_prefix} {Aws} -Version '7.*' -Architecture arm64");
            Assert.Equal(new[] { "7.9", "7.8" }, filtered.All<OpenBsdImage>().Select(i => i.Version));
            var one = _ps.Run($"Get-OpenBsdImage {_prefix}openbsd-7.9-amd64.qcow2 {Aws}");
            Assert.Equal("amd64", one.Single<OpenBsdImage>().Architecture);

            // Tab completion of -Version reads the catalog being listed, with the credentials typed so far.
            Assert.Equal(new[] { "7.9", "7.8" }, Complete($"Get-OpenBsdImage {_prefix} {Aws} -Version "));
            Assert.Equal(new[] { "7.8" }, Complete($"Get-OpenBsdImage {_prefix} {Aws} -Architecture arm64 -Version 7.8"));
            Assert.Empty(Complete($"Get-OpenBsdImage {_prefix} -Region us-east-1 -AccessKey NOT-A-KEY -SecretKey x -EndpointUrl {_s3rver.Endpoint} -Version "));
        }

        private List<string> Complete(string line)
        {
            _ps.Set("line", line);
            var r = _ps.Run("[System.Management.Automation.CommandCompletion]::CompleteInput($line, $line.Length, $null).CompletionMatches.CompletionText");
            Assert.False(r.HadErrors, r.Describe());
            return r.Output.Where(o => o != null).Select(o => o.ToString()).ToList();
        }

        [Fact]
        public async Task A_local_folder_lists_like_a_bucket_and_pipes_into_Publish()
        {
            LocalImage("openbsd-7.8-arm64.qcow2", "7.8", "arm64", 1);
            LocalImage("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 2);

            var local = _ps.Run($"Get-OpenBsdImage '{_scratch.Path}'");
            Assert.Equal(new[] { "7.9", "7.8" }, local.All<OpenBsdImage>().Select(i => i.Version));
            Assert.All(local.All<OpenBsdImage>(), i => Assert.Equal("Local", i.Store));

            var r = _ps.Run($"Get-OpenBsdImage '{_scratch.Path}' -Version 7.9 | Publish-OpenBsdImage -Destination {_prefix} {Aws} -PassThru");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Equal(_prefix + "openbsd-7.9-arm64.qcow2", r.Single<OpenBsdImage>().Location);
            Assert.Equal(new[] { "openbsd-7.9-arm64.qcow2", "openbsd-7.9-arm64.qcow2.json" }, await KeysUnderPrefix());
        }

        [Fact]
        public async Task An_image_without_metadata_is_refused_before_anything_is_uploaded()
        {
            string bare = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", MiB);
            var r = _ps.Run($"Publish-OpenBsdImage -Image '{bare}' -Destination {_prefix} {Aws}");
            Assert.Equal("OpenBsdBuild.ImageMetadataMissing,OpenBsdBuild.Commands.PublishOpenBsdImageCommand", r.FirstError!.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidData, r.FirstError.CategoryInfo.Category);
            Assert.NotNull(r.FirstError.ErrorDetails.RecommendedAction);
            Assert.Empty(await KeysUnderPrefix());
        }

        [Fact]
        public async Task A_checksum_that_does_not_match_the_metadata_aborts_the_upload_and_leaves_nothing()
        {
            string path = LocalImage("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 1, 17 * MiB, sha256: new string('0', 64));
            var r = _ps.Run($"Publish-OpenBsdImage -Image '{path}' -Destination {_prefix} {Aws} -PartSize 8MB");
            Assert.StartsWith("OpenBsdBuild.ImageChecksumMismatch,", r.FirstError!.FullyQualifiedErrorId);
            Assert.Contains(new string('0', 64), r.FirstError.Exception.Message);
            Assert.Empty(await KeysUnderPrefix());
            // The abort was sent; s3rver 3.7.1 does not implement it, and the user is told what is left and how to remove it.
            Assert.Contains(r.Warnings, w => w.Message.Contains("abort-multipart-upload"));
        }

        [Fact]
        public void A_missing_bucket_and_rejected_credentials_are_clear_errors()
        {
            string path = LocalImage("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 1);
            var noBucket = _ps.Run($"Publish-OpenBsdImage -Image '{path}' -Destination s3://no-such-bucket/golden/ {Aws}");
            Assert.StartsWith("OpenBsdBuild.S3BucketNotFound,", noBucket.FirstError!.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ObjectNotFound, noBucket.FirstError.CategoryInfo.Category);

            var listMissing = _ps.Run($"Get-OpenBsdImage s3://no-such-bucket/golden/ {Aws}");
            Assert.StartsWith("OpenBsdBuild.S3BucketNotFound,", listMissing.FirstError!.FullyQualifiedErrorId);

            // s3rver checks the access key id but not SigV4 signatures, so an unknown key stands in for denied access.
            var wrongKey = _ps.Run($"Get-OpenBsdImage {_prefix} -Region us-east-1 -AccessKey NOT-A-KEY -SecretKey x -EndpointUrl {_s3rver.Endpoint}");
            Assert.Equal(ErrorCategory.AuthenticationError, wrongKey.FirstError!.CategoryInfo.Category);
            Assert.Contains("InvalidAccessKeyId", wrongKey.FirstError.Exception.Message);
            Assert.Empty(wrongKey.Output);

            var badDestination = _ps.Run($"Publish-OpenBsdImage -Image '{path}' -Destination {_prefix}x.qcow2 {Aws}");
            Assert.StartsWith("OpenBsdBuild.InvalidParameter.Destination,", badDestination.FirstError!.FullyQualifiedErrorId);
        }

        [Fact]
        public async Task Get_reports_an_image_whose_metadata_is_missing_and_still_lists_the_others()
        {
            string good = LocalImage("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 1);
            Assert.False(_ps.Run($"Publish-OpenBsdImage -Image '{good}' -Destination {_prefix} {Aws}").HadErrors);
            using (var client = _s3rver.CreateClient())
                await client.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = S3rverFixture.Bucket, Key = _prefix.Substring("s3://images/".Length) + "orphan.qcow2", ContentBody = "not an image",
                });

            var r = _ps.Run($"Get-OpenBsdImage {_prefix} {Aws}");
            Assert.Single(r.All<OpenBsdImage>());
            var error = Assert.Single(r.Errors);
            Assert.StartsWith("OpenBsdBuild.ImageMetadataMissing,", error.FullyQualifiedErrorId);
            Assert.Contains("orphan.qcow2", error.Exception.Message);
        }

        [Fact]
        public async Task Publishing_over_an_existing_image_needs_Force()
        {
            string path = LocalImage("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 1);
            Assert.False(_ps.Run($"Publish-OpenBsdImage '{path}' {_prefix} {Aws}").HadErrors);
            var again = _ps.Run($"Publish-OpenBsdImage '{path}' {_prefix} {Aws}");
            Assert.StartsWith("OpenBsdBuild.ImageAlreadyExists,", again.FirstError!.FullyQualifiedErrorId);
            var forced = _ps.Run($"Publish-OpenBsdImage '{path}' {_prefix} {Aws} -Force -PassThru");
            Assert.False(forced.HadErrors, forced.Describe());
            Assert.Equal(2, (await KeysUnderPrefix()).Count);
        }

        [Fact]
        public async Task Remove_honours_WhatIf_then_deletes_image_and_sidecar_from_S3_and_from_a_folder()
        {
            string path = LocalImage("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 1);
            Assert.False(_ps.Run($"Publish-OpenBsdImage '{path}' {_prefix} {Aws}").HadErrors);

            var whatIf = _ps.Run($"Get-OpenBsdImage {_prefix} {Aws} | Remove-OpenBsdImage -WhatIf");
            Assert.False(whatIf.HadErrors, whatIf.Describe());
            Assert.Contains("Remove golden image", _ps.Host.Text);
            Assert.Equal(2, (await KeysUnderPrefix()).Count);

            // The piped image carries its region and endpoint; only the credentials are given again.
            var removed = _ps.Run($"Get-OpenBsdImage {_prefix} {Aws} | Remove-OpenBsdImage -AccessKey {S3rverFixture.AccessKey} -SecretKey {S3rverFixture.SecretKey} -Verbose");
            Assert.False(removed.HadErrors, removed.Describe());
            Assert.Empty(await KeysUnderPrefix());
            var gone = _ps.Run($"Remove-OpenBsdImage {_prefix}openbsd-7.9-arm64.qcow2 {Aws}");
            Assert.StartsWith("OpenBsdBuild.ImageNotFound,", gone.FirstError!.FullyQualifiedErrorId);

            var local = _ps.Run($"Remove-OpenBsdImage '{path}' -Confirm:$false");
            Assert.False(local.HadErrors, local.Describe());
            Assert.False(File.Exists(path));
            Assert.False(File.Exists(path + ImageMetadata.SidecarSuffix));
        }

        [Fact]
        public async Task CtrlC_mid_publish_stops_and_leaves_no_image_under_the_prefix()
        {
            string path = LocalImage("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 1, 400 * MiB);
            var before = _s3rver.PendingUploadIds();
            var running = _ps.RunAsync($"Publish-OpenBsdImage -Image '{path}' -Destination {_prefix} {Aws} -PartSize 8MB -ThrottleLimit 1");
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (!_s3rver.PendingUploadIds().Except(before).Any() && !running.IsCompleted && DateTime.UtcNow < deadline)
                System.Threading.Thread.Sleep(20);
            Assert.False(running.IsCompleted, "the publish ended before it could be stopped: " + (running.IsCompleted ? running.Result.Describe() : ""));

            var clock = System.Diagnostics.Stopwatch.StartNew();
            _ps.Stop();
            var r = running.Result; // a hang is the per-test hang guard's; the time is only recorded
            var took = clock.Elapsed;
            Assert.True(r.Stopped, r.Describe());
            // Neither the image nor its sidecar: a listing shows nothing half-published.
            Assert.Empty(await KeysUnderPrefix());
            Assert.Empty(_ps.Run($"Get-OpenBsdImage {_prefix} {Aws}").All<OpenBsdImage>());
            Reliability.ReliabilityDoc.Row("Ctrl+C: Publish-OpenBsdImage mid-upload", "the pipeline stops; the multipart upload is aborted and nothing is under the prefix", took);
        }
    }
}
