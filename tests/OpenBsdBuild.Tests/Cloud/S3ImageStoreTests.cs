using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Xunit;
using OpenBsdBuild.Cloud.S3;
using OpenBsdBuild.Errors;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;
using S3Location = OpenBsdBuild.Model.S3Location;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>The store against a real s3rver through the real AWS SDK.</summary>
    [Collection(S3rverCollection.Name)]
    public sealed class S3ImageStoreTests : IDisposable
    {
        private const long MiB = 1024 * 1024;
        private readonly S3rverFixture _s3rver;
        private readonly AmazonS3Client _client;
        private readonly ScratchFolder _scratch = new ScratchFolder();
        private readonly S3Location _prefix;
        private readonly ConcurrentQueue<AmazonWebServiceRequest> _sent = new ConcurrentQueue<AmazonWebServiceRequest>();
        private readonly ConcurrentQueue<string> _uploadIds = new ConcurrentQueue<string>();
        private int _partsInFlight;
        private int _mostPartsInFlight;

        public S3ImageStoreTests(S3rverFixture s3rver)
        {
            _s3rver = s3rver;
            _client = s3rver.CreateClient();
            _client.BeforeRequestEvent += (_, e) =>
            {
                var request = ((WebServiceRequestEventArgs)e).Request;
                _sent.Enqueue(request);
                if (request is UploadPartRequest)
                {
                    int now = Interlocked.Increment(ref _partsInFlight);
                    lock (_sent) _mostPartsInFlight = Math.Max(_mostPartsInFlight, now);
                }
            };
            _client.AfterResponseEvent += (_, e) =>
            {
                var response = ((WebServiceResponseEventArgs)e).Response;
                if (response is InitiateMultipartUploadResponse initiated) _uploadIds.Enqueue(initiated.UploadId);
                if (response is UploadPartResponse) Interlocked.Decrement(ref _partsInFlight);
            };
            // Each test gets its own folder in the shared bucket.
            _prefix = new S3Location(S3rverFixture.Bucket, "golden/" + Guid.NewGuid().ToString("N") + "/");
        }

        public void Dispose()
        {
            _client.Dispose();
            _scratch.Dispose();
        }

        [Fact]
        public async Task Publish_uploads_in_parallel_parts_and_reads_back_byte_exact()
        {
            // Not a multiple of the part size, so the short last part is exercised too.
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 40 * MiB + 12345);
            string localSha = TestImages.Sha256Of(path);
            var reporter = new RecordingReporter();
            var store = new S3ImageStore(_client, partSize: 8 * MiB, partsInFlight: 4);

            var published = await store.PublishAsync(path, TestImages.Metadata(), _prefix, reporter, CancellationToken.None);

            var target = _prefix.Append("openbsd-7.9-arm64.qcow2");
            Assert.Equal(target.ToString(), published.Location);
            Assert.Equal(target.ToString() + ".json", published.MetadataLocation);
            Assert.Equal(Enumerable.Range(1, 6), _sent.OfType<UploadPartRequest>().Select(p => p.PartNumber!.Value).OrderBy(n => n));
            Assert.InRange(_mostPartsInFlight, 2, 4);
            Assert.Equal(localSha, published.Metadata.Sha256);
            Assert.Equal(40 * MiB + 12345, published.Metadata.Size);

            // Read back what the server really stored: aws-chunked framing saved as data would
            // change both the size and the hash here.
            using (var get = await _client.GetObjectAsync(target.Bucket, target.Key))
            {
                Assert.Equal(40 * MiB + 12345, get.ContentLength);
                Assert.Equal(localSha, TestImages.Sha256Of(get.ResponseStream));
            }

            Assert.Contains(reporter.ProgressUpdates, u => u.Percent == 100);
            Assert.Contains(reporter.ProgressUpdates, u => u.Status.Contains("MB/s"));
            var percents = reporter.ProgressUpdates.Select(u => u.Percent).ToList();
            Assert.Equal(percents.OrderBy(p => p), percents);
            Assert.Equal(1, reporter.DoneCount);
            Assert.Empty(_s3rver.PendingUploadIds().Intersect(_uploadIds));
        }

        [Fact]
        public async Task Publish_detects_a_store_that_keeps_aws_chunked_framing_as_data()
        {
            // The trap from the lab notes: a plain SDK client sends aws-chunked bodies, s3rver stores
            // them verbatim and both calls "succeed". The part ETag check must catch it.
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 9 * MiB);
            using var plain = new AmazonS3Client(_s3rver.Credentials, S3ClientFactory.CreateConfig(S3rverFixture.Region, _s3rver.Endpoint));
            var sent = new ConcurrentQueue<AmazonWebServiceRequest>();
            plain.BeforeRequestEvent += (_, e) => sent.Enqueue(((WebServiceRequestEventArgs)e).Request);
            var store = new S3ImageStore(plain, partSize: 8 * MiB);

            var error = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                store.PublishAsync(path, TestImages.Metadata(), _prefix, NullReporter.Instance, CancellationToken.None));

            Assert.Equal("S3PartCorrupted", error.ErrorId);
            Assert.Equal(FailureKind.InvalidData, error.Kind);
            Assert.Contains("S3ClientFactory", error.RecommendedAction);
            Assert.Single(sent.OfType<AbortMultipartUploadRequest>());
            Assert.Empty(await KeysUnder(_prefix));
        }

        [Fact]
        public async Task Metadata_round_trips_through_the_sidecar()
        {
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 3 * MiB);
            var metadata = TestImages.Metadata();
            metadata.RelinkDisabled = true;
            var store = new S3ImageStore(_client);
            await store.PublishAsync(path, metadata, _prefix, NullReporter.Instance, CancellationToken.None);

            var image = _prefix.Append("openbsd-7.9-arm64.qcow2");
            var got = await store.GetAsync(image);
            var viaSidecar = await store.GetAsync(image.WithSuffix(".json"));

            metadata.Size = 3 * MiB;
            metadata.Sha256 = TestImages.Sha256Of(path);
            Assert.Equal(metadata.ToJson(), got.Metadata.ToJson());
            Assert.Equal(DateTimeKind.Utc, got.Created.Kind);
            Assert.Equal(image, got.S3Location);
            Assert.Equal(3 * MiB, got.StoredSize);
            Assert.Equal(got.Metadata.ToJson(), viaSidecar.Metadata.ToJson());
            Assert.Equal(got.Location, viaSidecar.Location);
            // The caller's object is left as it was.
            Assert.Equal("openbsd-7.9-arm64", got.Name);
        }

        [Fact]
        public async Task Publish_refuses_to_replace_an_image_unless_told_to()
        {
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 1 * MiB, seed: 1);
            var store = new S3ImageStore(_client);
            await store.PublishAsync(path, TestImages.Metadata(), _prefix, NullReporter.Instance, CancellationToken.None);

            var error = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                store.PublishAsync(path, TestImages.Metadata(), _prefix, NullReporter.Instance, CancellationToken.None));
            Assert.Equal("ImageAlreadyExists", error.ErrorId);
            Assert.Equal(FailureKind.ResourceExists, error.Kind);
            Assert.Equal(_prefix.Append("openbsd-7.9-arm64.qcow2"), error.Target);

            path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 2 * MiB, seed: 2);
            var replaced = await store.PublishAsync(path, TestImages.Metadata(), _prefix, overwrite: true, NullReporter.Instance, CancellationToken.None);
            Assert.Equal(2 * MiB, (await store.GetAsync(replaced.S3Location!)).Metadata.Size);
        }

        [Fact]
        public async Task Publish_with_metadata_for_another_file_leaves_nothing_behind()
        {
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 9 * MiB);
            var metadata = TestImages.Metadata();
            metadata.Sha256 = new string('0', 64);
            var store = new S3ImageStore(_client);

            var error = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                store.PublishAsync(path, metadata, _prefix, NullReporter.Instance, CancellationToken.None));

            Assert.Equal("ImageChecksumMismatch", error.ErrorId);
            Assert.Empty(await KeysUnder(_prefix));
            Assert.Equal(Sent<InitiateMultipartUploadRequest>().Count(), Sent<AbortMultipartUploadRequest>().Count());
        }

        [Fact]
        public async Task Cancelling_mid_upload_aborts_the_multipart_upload_and_leaves_no_objects()
        {
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 64 * MiB);
            using var cancel = new CancellationTokenSource();
            // Cancel as soon as the first part is acknowledged, while others are in flight.
            var reporter = new RecordingReporter((_, percent) => { if (percent > 0) cancel.Cancel(); });
            var store = new S3ImageStore(_client, partSize: 8 * MiB, partsInFlight: 2);

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                store.PublishAsync(path, TestImages.Metadata(), _prefix, reporter, cancel.Token));

            string uploadId = Assert.Single(_uploadIds);
            Assert.True(Sent<UploadPartRequest>().Count() < 8, "cancellation should stop the upload before all parts are sent");
            Assert.Empty(await KeysUnder(_prefix));
            // The store asked the server to abort exactly that upload...
            var abort = Assert.Single(Sent<AbortMultipartUploadRequest>());
            Assert.Equal(uploadId, abort.UploadId);
            Assert.Equal(_prefix.Append("openbsd-7.9-arm64.qcow2").Key, abort.Key);

            // ...but s3rver 3.7.1 implements neither AbortMultipartUpload nor ListMultipartUploads, so
            // it keeps the parts: the store must then say so, with the command that removes them. On
            // a server that aborts, this warning is absent and ListMultipartUploads comes back empty.
            var listing = await Assert.ThrowsAsync<AmazonS3Exception>(() =>
                _client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = S3rverFixture.Bucket }));
            Assert.Equal("NotImplemented", listing.ErrorCode);
            Assert.Contains(uploadId, _s3rver.PendingUploadIds());
            var warning = Assert.Single(reporter.Warnings);
            Assert.Contains(uploadId, warning);
            Assert.Contains("abort-multipart-upload", warning);
        }

        [Fact]
        public async Task Cancelling_while_the_sidecar_is_written_removes_the_image_and_the_sidecar()
        {
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 9 * MiB);
            using var cancel = new CancellationTokenSource();
            var reporter = new RecordingReporter((status, _) => { if (status.StartsWith("Writing")) cancel.Cancel(); });
            var store = new S3ImageStore(_client);

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                store.PublishAsync(path, TestImages.Metadata(), _prefix, reporter, cancel.Token));

            // The image was complete at that point; without its sidecar it must not stay.
            Assert.Single(Sent<CompleteMultipartUploadRequest>());
            Assert.Empty(await KeysUnder(_prefix));
            Assert.Empty(reporter.Warnings);
            Assert.Equal(1, reporter.DoneCount);
        }

        [Fact]
        public async Task List_returns_images_newest_first_filters_them_and_reports_broken_ones()
        {
            var store = new S3ImageStore(_client);
            async Task Publish(string name, string version, string arch, int day)
            {
                string path = _scratch.WriteRandomFile(name, 4096, seed: day);
                await store.PublishAsync(path, TestImages.Metadata(version, arch, new DateTime(2025, 10, day, 0, 0, 0, DateTimeKind.Utc)),
                    _prefix, NullReporter.Instance, CancellationToken.None);
            }
            await Publish("openbsd-7.8-arm64.qcow2", "7.8", "arm64", 1);
            await Publish("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 20);
            await Publish("openbsd-7.9-amd64.qcow2", "7.9", "amd64", 10);
            await Put("no-sidecar.qcow2", "x");
            await Put("broken.qcow2", "x");
            await Put("broken.qcow2.json", "{ not json");
            await Put("gone.qcow2.json", TestImages.Metadata().ToJson());
            await Put("README.txt", "not an image");

            var all = await store.ListAsync(_prefix);
            Assert.Equal(new[] { "openbsd-7.9-arm64", "openbsd-7.9-amd64", "openbsd-7.8-arm64" }, all.Images.Select(i => i.Name));
            Assert.All(all.Images, i => Assert.StartsWith(_prefix.ToString(), i.Location));
            Assert.Equal(
                new[] { ("ImageFileMissing", "gone.qcow2.json"), ("ImageMetadataInvalid", "broken.qcow2.json"), ("ImageMetadataMissing", "no-sidecar.qcow2") },
                all.Problems.Select(p => (p.ErrorId, p.Target!.ToString()!.Substring(_prefix.ToString().Length))).OrderBy(p => p.Item1));

            var v79 = await store.ListAsync(_prefix, "7.9");
            Assert.Equal(new[] { "openbsd-7.9-arm64", "openbsd-7.9-amd64" }, v79.Images.Select(i => i.Name));
            var arm = await store.ListAsync(_prefix, "7.*", "ARM64");
            Assert.Equal(new[] { "openbsd-7.9-arm64", "openbsd-7.8-arm64" }, arm.Images.Select(i => i.Name));
            var none = await store.ListAsync(_prefix, "6.*");
            Assert.Empty(none.Images);
            // Problems are reported whatever the filter: they may hide the image that was wanted.
            Assert.Equal(3, none.Problems.Count);
        }

        [Fact]
        public async Task Presigned_url_is_http_expires_with_the_host_and_downloads_byte_exact()
        {
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 5 * MiB + 7);
            var store = new S3ImageStore(_client);
            var published = await store.PublishAsync(path, TestImages.Metadata(), _prefix, NullReporter.Instance, CancellationToken.None);

            var hostExpiresAt = DateTime.UtcNow.AddHours(2);
            var url = store.Presign(published.S3Location!, hostExpiresAt);

            Assert.Equal("http", url.Url.Scheme);
            Assert.Equal(_s3rver.Port, url.Url.Port);
            Assert.Equal(hostExpiresAt, url.ExpiresAt);
            Assert.False(url.LimitedByCredentials);
            Assert.Contains("X-Amz-Expires=7", url.Url.Query); // 7199 or 7200 seconds
            using var http = new HttpClient();
            using var stream = await http.GetStreamAsync(url.Url);
            Assert.Equal(TestImages.Sha256Of(path), TestImages.Sha256Of(stream));
        }

        [Fact]
        public void Presigned_url_signed_with_temporary_credentials_says_it_dies_with_them()
        {
            var store = new S3ImageStore(_client);
            var credentialsEnd = DateTime.UtcNow.AddMinutes(40);

            var url = store.Presign(_prefix.Append("x.qcow2"), DateTime.UtcNow.AddHours(5), credentialsEnd);

            Assert.True(url.LimitedByCredentials);
            Assert.Equal(credentialsEnd, url.ExpiresAt);
        }

        [Fact]
        public async Task A_missing_bucket_is_an_object_not_found_error_naming_the_bucket()
        {
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 4096);
            var store = new S3ImageStore(_client);
            var missing = S3Location.Parse("s3://no-such-bucket/golden/");

            var publish = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                store.PublishAsync(path, TestImages.Metadata(), missing, NullReporter.Instance, CancellationToken.None));
            var list = await Assert.ThrowsAsync<OpenBsdBuildException>(() => store.ListAsync(missing));
            var get = await Assert.ThrowsAsync<OpenBsdBuildException>(() => store.GetAsync(missing.Append("x.qcow2")));
            var remove = await Assert.ThrowsAsync<OpenBsdBuildException>(() => store.RemoveAsync(missing.Append("x.qcow2")));

            foreach (var error in new[] { publish, list, get, remove })
            {
                Assert.Equal("S3BucketNotFound", error.ErrorId);
                Assert.Equal(FailureKind.ObjectNotFound, error.Kind);
                Assert.Contains("'no-such-bucket'", error.Message);
                Assert.NotNull(error.RecommendedAction);
            }
        }

        [Fact]
        public async Task Rejected_credentials_are_an_authentication_error()
        {
            using var client = S3ClientFactory.Create(S3rverFixture.Region, new BasicAWSCredentials("WRONG", "WRONG"), _s3rver.Endpoint);
            var store = new S3ImageStore(client);

            var error = await Assert.ThrowsAsync<OpenBsdBuildException>(() => store.ListAsync(_prefix));

            Assert.Equal("S3CredentialsRejected", error.ErrorId);
            Assert.Equal(FailureKind.AuthenticationError, error.Kind);
        }

        [Fact]
        public async Task Remove_deletes_the_image_and_its_sidecar()
        {
            string path = _scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 4096);
            var store = new S3ImageStore(_client);
            var published = await store.PublishAsync(path, TestImages.Metadata(), _prefix, NullReporter.Instance, CancellationToken.None);
            Assert.Equal(2, (await KeysUnder(_prefix)).Count);

            await store.RemoveAsync(published.S3Location!);

            Assert.Empty(await KeysUnder(_prefix));
            var again = await Assert.ThrowsAsync<OpenBsdBuildException>(() => store.RemoveAsync(published.S3Location!));
            Assert.Equal("ImageNotFound", again.ErrorId);
            var get = await Assert.ThrowsAsync<OpenBsdBuildException>(() => store.GetAsync(published.S3Location!));
            Assert.Equal("ImageNotFound", get.ErrorId);
        }

        [Fact]
        public async Task Get_reports_an_image_whose_sidecar_is_missing_or_broken()
        {
            var store = new S3ImageStore(_client);
            await Put("lonely.qcow2", "x");
            await Put("broken.qcow2", "x");
            await Put("broken.qcow2.json", "[1, 2");

            var lonely = await Assert.ThrowsAsync<OpenBsdBuildException>(() => store.GetAsync(_prefix.Append("lonely.qcow2")));
            var broken = await Assert.ThrowsAsync<OpenBsdBuildException>(() => store.GetAsync(_prefix.Append("broken.qcow2")));

            Assert.Equal("ImageMetadataMissing", lonely.ErrorId);
            Assert.Equal("ImageMetadataInvalid", broken.ErrorId);
        }

        private IEnumerable<T> Sent<T>() => _sent.OfType<T>();

        private async Task Put(string name, string body)
        {
            var location = _prefix.Append(name);
            await _client.PutObjectAsync(new PutObjectRequest { BucketName = location.Bucket, Key = location.Key, ContentBody = body });
        }

        private async Task<List<string>> KeysUnder(S3Location prefix)
        {
            var page = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = prefix.Bucket, Prefix = prefix.FolderPrefix });
            return (page.S3Objects ?? new List<S3Object>()).Select(o => o.Key).ToList();
        }
    }
}
