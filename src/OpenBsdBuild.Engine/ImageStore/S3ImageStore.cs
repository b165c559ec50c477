using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using OpenBsdBuild.Cloud.S3;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;
using S3Location = OpenBsdBuild.Model.S3Location;
using OpenBsdBuild.Builds;

namespace OpenBsdBuild.ImageStore
{
    /// <summary>
    /// Golden images in S3: each image object sits beside its "&lt;key&gt;.json" metadata sidecar.
    /// Does not own the client. Safe to use from several threads.
    /// </summary>
    public sealed class S3ImageStore
    {
        public const long MiB = 1024 * 1024;
        /// <summary>Smallest part size accepted (S3's own minimum is 5 MiB).</summary>
        public const long MinimumPartSize = 8 * MiB;
        public const long DefaultPartSize = 16 * MiB;
        public const int DefaultPartsInFlight = 4;
        private const int MaximumParts = 10000;
        private const long MaximumPartSize = 512 * MiB;
        // Cleanup after a failure or Ctrl+C must not hang forever on a dead network.
        private static readonly TimeSpan CleanupTimeout = TimeSpan.FromSeconds(60);

        private readonly IAmazonS3 _s3;
        private readonly long _partSize;
        private readonly int _partsInFlight;

        /// <param name="client">From <see cref="S3ClientFactory.Create"/> (which makes S3-compatible stores safe to upload to).</param>
        /// <param name="partSize">Multipart part size; raised automatically so an image needs at most 10,000 parts.</param>
        /// <param name="partsInFlight">Parts uploaded at once; each holds one part-sized buffer in memory.</param>
        public S3ImageStore(IAmazonS3 client, long partSize = DefaultPartSize, int partsInFlight = DefaultPartsInFlight)
        {
            _s3 = client ?? throw new ArgumentNullException(nameof(client));
            if (partSize < MinimumPartSize || partSize > MaximumPartSize)
                throw new ArgumentOutOfRangeException(nameof(partSize), partSize, $"The part size must be between {MinimumPartSize / MiB} and {MaximumPartSize / MiB} MiB.");
            if (partsInFlight < 1 || partsInFlight > 32)
                throw new ArgumentOutOfRangeException(nameof(partsInFlight), partsInFlight, "Between 1 and 32 parts may be in flight.");
            _partSize = partSize;
            _partsInFlight = partsInFlight;
        }

        // ---------------------------------------------------------------- publish

        /// <inheritdoc cref="PublishAsync(string, ImageMetadata, S3Location, bool, IOperationReporter, CancellationToken)"/>
        public Task<StoredImage> PublishAsync(string localImagePath, ImageMetadata metadata, S3Location prefix,
            IOperationReporter reporter, CancellationToken cancellationToken) =>
            PublishAsync(localImagePath, metadata, prefix, false, reporter, cancellationToken);

        /// <summary>
        /// Uploads the image to <c>&lt;prefix&gt;/&lt;file name&gt;</c> in parallel parts, checking every
        /// part's MD5 against what the store kept and the final size, then writes the metadata sidecar
        /// (with the image's size and SHA-256 filled in) as <c>&lt;key&gt;.json</c>. Nothing is left
        /// behind on failure or cancellation: the multipart upload is aborted, and a completed image or
        /// sidecar of this attempt is deleted.
        /// </summary>
        /// <param name="overwrite">Replace an image already at that key; otherwise that is an ImageAlreadyExists error.</param>
        public async Task<StoredImage> PublishAsync(string localImagePath, ImageMetadata metadata, S3Location prefix, bool overwrite,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            if (metadata == null) throw new ArgumentNullException(nameof(metadata));
            if (prefix == null) throw new ArgumentNullException(nameof(prefix));
            reporter ??= NullReporter.Instance;

            var file = new FileInfo(Path.GetFullPath(localImagePath ?? throw new ArgumentNullException(nameof(localImagePath))));
            if (!file.Exists)
                throw new OpenBsdBuildException("ImageFileNotFound", FailureKind.ObjectNotFound,
                    $"The image file '{file.FullName}' does not exist.", file.FullName, "Check the path, or build the image first.");
            if (LocalFile.LengthOf(file) == 0)
                throw new OpenBsdBuildException("ImageFileEmpty", FailureKind.InvalidData,
                    $"The image file '{file.FullName}' is empty.", file.FullName, "Build the image again; an earlier step failed.");
            if (string.IsNullOrWhiteSpace(metadata.Version) || string.IsNullOrWhiteSpace(metadata.Architecture))
                throw OpenBsdBuildException.BadParameter("Metadata", metadata.Name, "the metadata has no version or architecture.",
                    "Fill in the OpenBSD version and architecture; catalogs are filtered by them.");
            if (metadata.Size != 0 && metadata.Size != LocalFile.LengthOf(file))
                throw new OpenBsdBuildException("ImageMetadataMismatch", FailureKind.InvalidData,
                    $"The metadata says the image is {metadata.Size:N0} bytes but '{file.FullName}' is {LocalFile.LengthOf(file):N0}.", file.FullName,
                    "Publish the file the metadata was made for, or regenerate the metadata.");

            var target = prefix.Append(file.Name);
            var sidecar = target.WithSuffix(ImageMetadata.SidecarSuffix);
            var stored = ImageMetadata.Parse(metadata.ToJson(), "the metadata to publish");
            if (string.IsNullOrEmpty(stored.Name)) stored.Name = file.Name;
            stored.Size = LocalFile.LengthOf(file);

            if (!overwrite) await EnsureAbsentAsync(target, sidecar, cancellationToken).ConfigureAwait(false);

            string activity = $"Publishing {file.Name}";
            var clock = Stopwatch.StartNew();
            reporter.Progress(activity, $"Starting the upload to {target}", 0);
            try
            {
                stored.Sha256 = await UploadImageAsync(file, target, metadata.Sha256, overwrite, activity, reporter, cancellationToken).ConfigureAwait(false);
                var lastModified = await CheckImageAndWriteSidecarAsync(file, target, sidecar, stored, activity, reporter, cancellationToken).ConfigureAwait(false);
                double seconds = Math.Max(clock.Elapsed.TotalSeconds, 0.001);
                reporter.Verbose($"Published {target} ({LocalFile.LengthOf(file) / 1e6:F1} MB in {seconds:F1} s, {LocalFile.LengthOf(file) / 1e6 / seconds:F1} MB/s) with {sidecar.Name}.");
                return new StoredImage(target.ToString(), sidecar.ToString(), stored, LocalFile.LengthOf(file), lastModified, target);
            }
            finally
            {
                reporter.ProgressDone(activity);
            }
        }

        /// <summary>
        /// Uploads a plain file (no sidecar) to <paramref name="target"/> in parallel parts, refusing to replace
        /// an object already there; on failure or cancellation the multipart upload is aborted. Returns the file's SHA-256.
        /// </summary>
        public async Task<string> UploadFileAsync(string localPath, S3Location target, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var file = new FileInfo(Path.GetFullPath(localPath));
            if (await HeadOrNullAsync(target, "checking for an earlier upload", cancellationToken, ignoreDenied: true).ConfigureAwait(false) != null)
                throw new OpenBsdBuildException("S3ObjectAlreadyExists", FailureKind.ResourceExists,
                    $"An object is already stored at {target}.", target, "Remove it, or stage under another prefix.");
            string activity = $"Uploading {file.Name}";
            reporter.Progress(activity, $"Starting the upload to {target}", 0);
            try
            {
                return await UploadImageAsync(file, target, "", overwrite: false, activity, reporter, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                reporter.ProgressDone(activity);
            }
        }

        /// <summary>Whether an object exists at <paramref name="location"/>.</summary>
        public async Task<bool> ExistsAsync(S3Location location, CancellationToken cancellationToken) =>
            await HeadOrNullAsync(location, "checking the object", cancellationToken).ConfigureAwait(false) != null;

        /// <summary>Deletes one object; a missing one is not an error (S3 answers a DELETE of a missing key with success too).</summary>
        public Task DeleteAsync(S3Location location, CancellationToken cancellationToken) =>
            Call("deleting the object", location, () => _s3.DeleteObjectAsync(location.Bucket, location.Key, cancellationToken));

        /// <summary>The multipart upload, aborted on any failure. Returns the file's SHA-256.</summary>
        private async Task<string> UploadImageAsync(FileInfo file, S3Location target, string expectedSha256, bool overwrite,
            string activity, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var initiated = await Call("starting the upload", target, () => _s3.InitiateMultipartUploadAsync(
                new InitiateMultipartUploadRequest { BucketName = target.Bucket, Key = target.Key, ContentType = "application/octet-stream" },
                cancellationToken)).ConfigureAwait(false);
            string uploadId = initiated.UploadId;
            try
            {
                var (parts, sha256) = await UploadPartsAsync(file, target, uploadId, activity, reporter, cancellationToken).ConfigureAwait(false);
                if (!string.IsNullOrEmpty(expectedSha256) && !string.Equals(expectedSha256, sha256, StringComparison.OrdinalIgnoreCase))
                    throw new OpenBsdBuildException("ImageChecksumMismatch", FailureKind.InvalidData,
                        $"'{file.FullName}' has SHA-256 {sha256}, but its metadata says {expectedSha256}.", file.FullName,
                        "Publish the file the metadata was made for, or regenerate the metadata.");

                reporter.Progress(activity, "Assembling the parts", 100);
                await Call("completing the upload", target, () => _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
                {
                    BucketName = target.Bucket,
                    Key = target.Key,
                    UploadId = uploadId,
                    PartETags = parts,
                    // S3 itself checks the assembled size, and refuses to replace an object that
                    // appeared since EnsureAbsentAsync looked (stores that don't know these ignore them).
                    MpuObjectSize = LocalFile.LengthOf(file),
                    IfNoneMatch = overwrite ? null : "*",
                }, cancellationToken)).ConfigureAwait(false);
                return sha256;
            }
            catch (Exception ex)
            {
                await AbortAsync(target, uploadId, reporter).ConfigureAwait(false);
                if (ex.InnerException is AmazonS3Exception { ErrorCode: "PreconditionFailed" }) throw AlreadyExists(target);
                throw;
            }
        }

        /// <summary>Checks the assembled object's size and writes the sidecar; on failure removes both. Returns the image's LastModified.</summary>
        private async Task<DateTime> CheckImageAndWriteSidecarAsync(FileInfo file, S3Location target, S3Location sidecar, ImageMetadata stored,
            string activity, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            try
            {
                var head = await Call("checking the uploaded image", target,
                    () => _s3.GetObjectMetadataAsync(target.Bucket, target.Key, cancellationToken)).ConfigureAwait(false);
                if (head.ContentLength != LocalFile.LengthOf(file))
                    throw new OpenBsdBuildException("S3ObjectSizeMismatch", FailureKind.InvalidData,
                        $"S3 holds {head.ContentLength:N0} bytes at {target}, but {LocalFile.LengthOf(file):N0} were uploaded.", target,
                        "Publish again; if the store is S3-compatible, check that it supports multipart uploads.");

                reporter.Progress(activity, $"Writing {sidecar.Name}", 100);
                await Call("writing the image metadata", sidecar, () => _s3.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = sidecar.Bucket,
                    Key = sidecar.Key,
                    ContentBody = stored.ToJson(),
                    ContentType = "application/json",
                    // Tiny body: signing it whole costs nothing and is safe on every store.
                    UseChunkEncoding = false,
                }, cancellationToken)).ConfigureAwait(false);
                return head.LastModified?.ToUniversalTime() ?? DateTime.UtcNow;
            }
            catch (Exception)
            {
                // The image without a trustworthy sidecar must not be offered to hosts.
                await DeleteQuietlyAsync(sidecar, reporter).ConfigureAwait(false);
                await DeleteQuietlyAsync(target, reporter).ConfigureAwait(false);
                throw;
            }
        }

        private async Task EnsureAbsentAsync(S3Location target, S3Location sidecar, CancellationToken cancellationToken)
        {
            // A 403 here can just mean "no s3:ListBucket"; the upload itself then says what is wrong.
            foreach (var location in new[] { target, sidecar })
                if (await HeadOrNullAsync(location, "checking for an earlier image", cancellationToken, ignoreDenied: true).ConfigureAwait(false) != null)
                    throw AlreadyExists(target);
        }

        private static OpenBsdBuildException AlreadyExists(S3Location target) =>
            new OpenBsdBuildException("ImageAlreadyExists", FailureKind.ResourceExists,
                $"An image is already published at {target}.", target,
                "Publish under another name or prefix, remove the old image first, or overwrite it explicitly.");

        private async Task<(List<PartETag> Parts, string Sha256)> UploadPartsAsync(FileInfo file, S3Location target, string uploadId,
            string activity, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            long length = LocalFile.LengthOf(file);
            long partSize = Math.Max(_partSize, (length + MaximumParts - 1) / MaximumParts);
            partSize = (partSize + MiB - 1) / MiB * MiB;
            int partCount = (int)((length + partSize - 1) / partSize);

            var progress = new UploadProgress(activity, length, reporter);
            var freeBuffers = new ConcurrentBag<byte[]>();
            var parts = new PartETag[partCount];
            var running = new List<Task>();
            using var slots = new SemaphoreSlim(_partsInFlight);
            // One failed part stops the others instead of letting them upload for nothing.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

            async Task RunPartAsync(int number, byte[] buffer, int count)
            {
                try
                {
                    parts[number - 1] = await UploadPartAsync(target, uploadId, number, buffer, count, stop.Token).ConfigureAwait(false);
                    progress.Add(count);
                }
                catch
                {
                    stop.Cancel();
                    throw;
                }
                finally
                {
                    freeBuffers.Add(buffer);
                    slots.Release();
                }
            }

            Exception? readFailure = null;
            try
            {
                // Read in order on this thread (one sequential pass, one running SHA-256); upload in parallel.
                using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
                for (int number = 1; number <= partCount; number++)
                {
                    await slots.WaitAsync(stop.Token).ConfigureAwait(false);
                    var buffer = freeBuffers.TryTake(out var reused) ? reused : new byte[partSize];
                    int count = (int)Math.Min(partSize, length - (number - 1) * partSize);
                    await ReadExactlyAsync(stream, buffer, count, file, stop.Token).ConfigureAwait(false);
                    sha256.AppendData(buffer, 0, count);
                    running.Add(RunPartAsync(number, buffer, count));
                }
                if (stream.ReadByte() != -1) throw FileChanged(file);
            }
            catch (Exception ex)
            {
                readFailure = ex;
                stop.Cancel();
            }

            try
            {
                await Task.WhenAll(running).ConfigureAwait(false);
            }
            catch
            {
                // Examined below, so the real cause wins over the cancellations it triggered.
            }

            cancellationToken.ThrowIfCancellationRequested();
            var partFailure = running.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!)
                .FirstOrDefault(e => !(e is OperationCanceledException));
            var failure = partFailure ?? readFailure ?? running.FirstOrDefault(t => t.IsFaulted)?.Exception!.InnerException;
            if (failure != null) ExceptionDispatchInfo.Capture(failure).Throw();
            return (parts.ToList(), Checksums.Hex(sha256.GetHashAndReset()));
        }

        private async Task<PartETag> UploadPartAsync(S3Location target, string uploadId, int number, byte[] buffer, int count,
            CancellationToken cancellationToken)
        {
            byte[] md5;
            using (var hash = MD5.Create()) md5 = hash.ComputeHash(buffer, 0, count);
            using var body = new MemoryStream(buffer, 0, count, writable: false);
            var response = await Call($"uploading part {number}", target, () => _s3.UploadPartAsync(new UploadPartRequest
            {
                BucketName = target.Bucket,
                Key = target.Key,
                UploadId = uploadId,
                PartNumber = number,
                InputStream = body,
                PartSize = count,
                // S3 rejects a part whose body does not match (BadDigest); not every compatible store checks.
                MD5Digest = Convert.ToBase64String(md5),
            }, cancellationToken)).ConfigureAwait(false);

            // A part ETag is the MD5 of what the store kept, except under SSE-KMS and SSE-C. A mismatch
            // is how aws-chunked framing saved as data (s3rver) shows up: the upload "succeeds".
            bool etagIsMd5 = response.ServerSideEncryptionMethod != ServerSideEncryptionMethod.AWSKMS &&
                             response.ServerSideEncryptionMethod != ServerSideEncryptionMethod.AWSKMSDSSE &&
                             string.IsNullOrEmpty(response.SSECustomerAlgorithm);
            string etag = (response.ETag ?? "").Trim('"');
            if (etagIsMd5 && !string.Equals(etag, Checksums.Hex(md5), StringComparison.OrdinalIgnoreCase))
                throw new OpenBsdBuildException("S3PartCorrupted", FailureKind.InvalidData,
                    $"The store kept part {number} of {target} with ETag {etag}, but the part sent has MD5 {Checksums.Hex(md5)}: it did not store the bytes it was sent.",
                    target,
                    "For an S3-compatible store, create the client with S3ClientFactory and the store's endpoint URL: it turns off aws-chunked uploads, which such stores save verbatim.");
            return new PartETag(number, response.ETag);
        }

        private static async Task ReadExactlyAsync(Stream stream, byte[] buffer, int count, FileInfo file, CancellationToken cancellationToken)
        {
            int done = 0;
            while (done < count)
            {
                int read = await stream.ReadAsync(buffer, done, count - done, cancellationToken).ConfigureAwait(false);
                if (read == 0) throw FileChanged(file);
                done += read;
            }
        }

        private static OpenBsdBuildException FileChanged(FileInfo file) =>
            new OpenBsdBuildException("ImageFileChanged", FailureKind.InvalidData,
                $"'{file.FullName}' changed size while it was being uploaded.", file.FullName,
                "Wait until whatever writes the image has finished, then publish again.");

        private async Task AbortAsync(S3Location target, string uploadId, IOperationReporter reporter)
        {
            using var timeout = new CancellationTokenSource(CleanupTimeout);
            try
            {
                await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest
                {
                    BucketName = target.Bucket,
                    Key = target.Key,
                    UploadId = uploadId,
                }, timeout.Token).ConfigureAwait(false);
                reporter.Verbose($"Aborted the multipart upload {uploadId} of {target}.");
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload")
            {
                // Already gone (completed or aborted): nothing is left to pay for.
            }
            catch (Exception ex)
            {
                // Cleanup must not hide the failure that caused it; say what is left instead.
                reporter.Warning(
                    $"Could not abort the multipart upload {uploadId} of {target} ({ex.Message}). Its parts stay in the bucket, and are billed, " +
                    $"until removed: aws s3api abort-multipart-upload --bucket {target.Bucket} --key {target.Key} --upload-id {uploadId}, " +
                    "or a lifecycle rule with AbortIncompleteMultipartUpload.");
            }
        }

        private async Task DeleteQuietlyAsync(S3Location location, IOperationReporter reporter)
        {
            using var timeout = new CancellationTokenSource(CleanupTimeout);
            try
            {
                await _s3.DeleteObjectAsync(location.Bucket, location.Key, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                reporter.Warning($"Could not remove {location} after the failed publish ({ex.Message}); remove it by hand.");
            }
        }

        /// <summary>Percent and MB/s, reported as parts complete; parts finish out of order, hence the lock.</summary>
        private sealed class UploadProgress
        {
            private readonly object _gate = new object();
            private readonly string _activity;
            private readonly long _total;
            private readonly IOperationReporter _reporter;
            private readonly Stopwatch _clock = Stopwatch.StartNew();
            private long _done;

            public UploadProgress(string activity, long total, IOperationReporter reporter)
            {
                _activity = activity;
                _total = total;
                _reporter = reporter;
            }

            public void Add(long bytes)
            {
                lock (_gate)
                {
                    _done += bytes;
                    double rate = _done / 1e6 / Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
                    _reporter.Progress(_activity, $"{_done / 1e6:F0} of {_total / 1e6:F0} MB, {rate:F1} MB/s",
                        (int)(_done * 100 / _total));
                }
            }
        }

        // ---------------------------------------------------------------- list, get, remove

        /// <summary>
        /// Reads every "&lt;image&gt;.json" sidecar under <paramref name="prefix"/> (subfolders included) and
        /// returns the images newest first (by the metadata's creation time). Images without a usable
        /// sidecar, and sidecars without an image, come back in <see cref="ImageListing.Problems"/>.
        /// </summary>
        /// <param name="versionPattern">OpenBSD version, '*' and '?' allowed ("7.*"); null for all.</param>
        /// <param name="architecturePattern">"arm64", "amd64"; null for all.</param>
        public async Task<ImageListing> ListAsync(S3Location prefix, string? versionPattern = null, string? architecturePattern = null,
            CancellationToken cancellationToken = default)
        {
            if (prefix == null) throw new ArgumentNullException(nameof(prefix));
            var files = new List<CatalogFile>();
            string? continuation = null;
            do
            {
                var page = await Call("listing images", prefix, () => _s3.ListObjectsV2Async(new ListObjectsV2Request
                {
                    BucketName = prefix.Bucket,
                    Prefix = prefix.FolderPrefix,
                    ContinuationToken = continuation,
                }, cancellationToken)).ConfigureAwait(false);
                foreach (var item in page.S3Objects ?? new List<S3Object>())
                {
                    var location = new S3Location(prefix.Bucket, item.Key);
                    files.Add(new CatalogFile(item.Key, location.ToString(), item.Size ?? 0,
                        item.LastModified?.ToUniversalTime() ?? default, location));
                }
                continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
            } while (!string.IsNullOrEmpty(continuation));

            return await ImageCatalog.AssembleAsync(files,
                (sidecar, token) => ReadTextAsync(sidecar.S3Location!, token),
                versionPattern, architecturePattern, cancellationToken).ConfigureAwait(false);
        }

        /// <summary>One image and its metadata. <paramref name="image"/> may name the image or its sidecar.</summary>
        public async Task<StoredImage> GetAsync(S3Location image, CancellationToken cancellationToken = default)
        {
            var (target, sidecar) = Resolve(image);
            // The sidecar first: a GET names a missing bucket, a HEAD cannot (no body).
            string? text = await ReadTextOrNullAsync(sidecar, cancellationToken).ConfigureAwait(false);
            var meta = await HeadOrNullAsync(target, "reading the image", cancellationToken).ConfigureAwait(false);

            if (meta == null && text == null)
                throw new OpenBsdBuildException("ImageNotFound", FailureKind.ObjectNotFound,
                    $"There is no image at {target}.", target, $"List the images under the prefix to find the right key.");
            if (meta == null) throw ImageCatalog.FileMissing(target.ToString(), sidecar.ToString());
            if (text == null) throw ImageCatalog.MetadataMissing(target.ToString(), sidecar.ToString());

            var file = new CatalogFile(target.Key, target.ToString(), meta.ContentLength,
                meta.LastModified?.ToUniversalTime() ?? default, target);
            var (stored, problem) = ImageCatalog.Validate(file, sidecar.ToString(), ImageMetadata.Parse(text, sidecar.ToString()));
            if (problem != null) throw problem;
            return stored!;
        }

        /// <summary>Deletes the image and its sidecar (the sidecar first, so listings stop offering it at once).</summary>
        public async Task RemoveAsync(S3Location image, CancellationToken cancellationToken = default)
        {
            var (target, sidecar) = Resolve(image);
            bool hasImage = await HeadOrNullAsync(target, "removing the image", cancellationToken).ConfigureAwait(false) != null;
            bool hasSidecar = await HeadOrNullAsync(sidecar, "removing the image", cancellationToken).ConfigureAwait(false) != null;
            if (!hasImage && !hasSidecar)
            {
                // HEAD cannot tell a missing bucket from a missing key; a listing can.
                await Call("removing the image", target, () => _s3.ListObjectsV2Async(
                    new ListObjectsV2Request { BucketName = target.Bucket, Prefix = target.Key, MaxKeys = 1 }, cancellationToken)).ConfigureAwait(false);
                throw new OpenBsdBuildException("ImageNotFound", FailureKind.ObjectNotFound,
                    $"There is no image at {target}.", target, "List the images under the prefix to find the right key.");
            }
            if (hasSidecar)
                await Call("removing the image metadata", sidecar, () => _s3.DeleteObjectAsync(sidecar.Bucket, sidecar.Key, cancellationToken)).ConfigureAwait(false);
            if (hasImage)
                await Call("removing the image", target, () => _s3.DeleteObjectAsync(target.Bucket, target.Key, cancellationToken)).ConfigureAwait(false);
        }

        // ---------------------------------------------------------------- presign

        /// <summary>
        /// A GET URL for the image that expires with the host (see <see cref="PresignExpiry.Compute"/>):
        /// never later than <paramref name="hostExpiresAt"/> or 7 days, never sooner than
        /// <paramref name="minimumValidity"/> (15 minutes by default). http:// for an http endpoint.
        /// </summary>
        /// <param name="credentialsExpireAt">
        /// When the signing credentials expire (<see cref="S3ClientFactory.CredentialsExpiration"/>): a URL
        /// signed with temporary credentials dies with them, and the result says so.
        /// </param>
        public PresignedImageUrl Presign(S3Location image, DateTime hostExpiresAt, DateTime? credentialsExpireAt = null,
            TimeSpan? minimumValidity = null)
        {
            if (image == null) throw new ArgumentNullException(nameof(image));
            if (image.IsFolder)
                throw OpenBsdBuildException.BadParameter("Image", image, "names a folder, not an image.",
                    "Give the image's full key, for example s3://my-images/golden/openbsd-7.9-arm64.qcow2.");
            var expires = PresignExpiry.Compute(DateTime.UtcNow, hostExpiresAt, minimumValidity);
            string url;
            try
            {
                url = _s3.GetPreSignedURL(new GetPreSignedUrlRequest
                {
                    BucketName = image.Bucket,
                    Key = image.Key,
                    Verb = HttpVerb.GET,
                    Expires = expires,
                    // Without this the URL is https:// even for an http:// endpoint.
                    Protocol = S3ClientFactory.UsesHttp(_s3) ? Protocol.HTTP : Protocol.HTTPS,
                });
            }
            catch (Exception ex) when (S3Errors.Translate(ex, "presigning the image URL", image) is OpenBsdBuildException translated)
            {
                throw translated;
            }

            var credentialsEnd = credentialsExpireAt?.ToUniversalTime();
            bool limited = credentialsEnd < expires;
            return new PresignedImageUrl(image, new Uri(url), limited ? credentialsEnd!.Value : expires, limited);
        }

        // ---------------------------------------------------------------- helpers

        private static (S3Location Image, S3Location Sidecar) Resolve(S3Location location)
        {
            if (location == null) throw new ArgumentNullException(nameof(location));
            if (location.IsFolder)
                throw OpenBsdBuildException.BadParameter("Image", location, "names a folder, not an image.",
                    "Give the image's full key, for example s3://my-images/golden/openbsd-7.9-arm64.qcow2.");
            if (location.Key.EndsWith(ImageMetadata.SidecarSuffix, StringComparison.OrdinalIgnoreCase))
            {
                var image = new S3Location(location.Bucket, location.Key.Substring(0, location.Key.Length - ImageMetadata.SidecarSuffix.Length));
                return (image, location);
            }
            return (location, location.WithSuffix(ImageMetadata.SidecarSuffix));
        }

        private async Task<GetObjectMetadataResponse?> HeadOrNullAsync(S3Location location, string doing, CancellationToken cancellationToken,
            bool ignoreDenied = false)
        {
            try
            {
                return await _s3.GetObjectMetadataAsync(location.Bucket, location.Key, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (S3Errors.IsMissingObject(ex) || (ignoreDenied && ex.StatusCode == System.Net.HttpStatusCode.Forbidden))
            {
                return null;
            }
            catch (Exception ex) when (S3Errors.Translate(ex, doing, location) is OpenBsdBuildException translated)
            {
                throw translated;
            }
        }

        private async Task<string?> ReadTextOrNullAsync(S3Location location, CancellationToken cancellationToken)
        {
            try
            {
                return await ReadTextAsync(location, cancellationToken).ConfigureAwait(false);
            }
            catch (OpenBsdBuildException ex) when (ex.InnerException != null && S3Errors.IsMissingObject(ex.InnerException))
            {
                return null;
            }
        }

        private Task<string> ReadTextAsync(S3Location location, CancellationToken cancellationToken) =>
            Call("reading the image metadata", location, async () =>
            {
                using var response = await _s3.GetObjectAsync(location.Bucket, location.Key, cancellationToken).ConfigureAwait(false);
                using var reader = new StreamReader(response.ResponseStream);
                return await reader.ReadToEndAsync().ConfigureAwait(false);
            });

        /// <summary>Runs an S3 call, turning its failures into <see cref="OpenBsdBuildException"/>s.</summary>
        private static async Task<T> Call<T>(string doing, S3Location target, Func<Task<T>> call)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception ex) when (S3Errors.Translate(ex, doing, target) is OpenBsdBuildException translated)
            {
                throw translated;
            }
        }
    }
}
