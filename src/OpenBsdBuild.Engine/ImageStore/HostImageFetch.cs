using System;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.ImageStore
{
    /// <summary>
    /// Brings a golden image from S3 onto a host: the host downloads it itself through a presigned
    /// URL (it needs no AWS credentials; the URL expires with the host), checks its SHA-256 against
    /// the metadata, and keeps it with its sidecar in &lt;state&gt;/images/, where the guest launcher
    /// reads the pinned host keys. A download that fails, is cancelled or does not match is deleted.
    /// </summary>
    public static class HostImageFetch
    {
        /// <summary>How long the URL lives when the host has no end of its own (an attached machine): it is used at once.</summary>
        public static readonly TimeSpan UnboundedHostValidity = TimeSpan.FromHours(1);

        private static readonly Regex Sha256Hex = new Regex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant);

        /// <returns>The image's path on the host, with "&lt;path&gt;.json" beside it.</returns>
        public static async Task<string> FetchAsync(MetalHost host, OpenBsdImage image, AwsConnectionOptions aws, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            if (image.S3Location == null) throw new ArgumentException("The image is not in S3.", nameof(image));
            string sha256 = (image.Sha256 ?? "").ToLowerInvariant();
            if (!Sha256Hex.IsMatch(sha256))
                throw new OpenBsdBuildException("ImageChecksumMissing", FailureKind.InvalidData,
                    $"The metadata of {image.Location} has no SHA-256, so the host could not check what it downloads.", image.MetadataLocation,
                    "Publish the image again with Publish-OpenBsdImage (it records the checksum).");

            string dir = host.StateDirectory + "/images";
            // Named by content: a second guest from the same image reuses the download.
            string path = $"{dir}/{sha256.Substring(0, 16)}-{image.S3Location.Name}";
            string activity = $"Fetching {image.S3Location.Name} onto {host.Name}";
            try
            {
                // Every host command of the fetch goes through the watched token: a dead link is HostLost in ~20 s, not a hang.
                return await LinkWatch.RunAsync(host.Shell, ct => FetchWatchedAsync(host, image, aws, path, sha256, activity, reporter, ct),
                    (why, inner) => new OpenBsdBuildException("HostLost", FailureKind.ConnectionError,
                        $"{host.Name} {why} while it fetched {image.Location}; the link to it may be down. A partial download (*.partial-*) may be left in {dir}.",
                        image.Location, "Check that the host is reachable, then start the guest again; an EC2 host that is terminated ends its files with it.", inner),
                    cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                reporter.ProgressDone(activity);
            }
        }

        private static async Task<string> FetchWatchedAsync(MetalHost host, OpenBsdImage image, AwsConnectionOptions aws, string path, string sha256, string activity,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            if (await VerifyAsync(host, path, sha256, activity, reporter, cancellationToken).ConfigureAwait(false))
            {
                reporter.Verbose($"{host.Name} already holds {image.Location} as {path}; its SHA-256 checks out.");
            }
            else
            {
                var url = ImageLibrary.Presign(image, host.ExpiresAt, UnboundedHostValidity, aws, reporter);
                await DownloadAsync(host, image, url, path, sha256, activity, reporter, cancellationToken).ConfigureAwait(false);
            }
            await WriteSidecarAsync(host, image.Metadata, path, cancellationToken).ConfigureAwait(false);
            return path;
        }

        private static async Task<bool> VerifyAsync(MetalHost host, string path, string sha256, string activity, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            var exists = await host.Shell.RunAsync($"[ -f {ShellQuote.Quote(path)} ]", cancellationToken).ConfigureAwait(false);
            if (!exists.Succeeded) return false;
            reporter.Progress(activity, "Checking the SHA-256 of the copy already on the host", -1);
            string actual = await HashOnHostAsync(host, path, cancellationToken).ConfigureAwait(false);
            if (actual == sha256) return true;
            reporter.Warning($"The copy of the image at {path} on {host.Name} is damaged (SHA-256 {actual}); fetching it again.");
            await host.Shell.RunAsync($"rm -f {ShellQuote.Quote(path)}", CancellationToken.None).ConfigureAwait(false);
            return false;
        }

        private static async Task DownloadAsync(MetalHost host, OpenBsdImage image, PresignedImageUrl url, string path, string sha256,
            string activity, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string partial = path + ".partial-" + Guid.NewGuid().ToString("N").Substring(0, 8);
            string qPartial = ShellQuote.Quote(partial);
            var made = await host.Shell.RunAsync($"mkdir -p {ShellQuote.Quote(host.StateDirectory + "/images")}", cancellationToken).ConfigureAwait(false);
            if (!made.Succeeded)
                throw new OpenBsdBuildException("ImageDownloadFailed", FailureKind.WriteError,
                    $"Could not create {host.StateDirectory}/images on {host.Name}: {made.Message}", host.StateDirectory, "Check the host's state directory.");
            reporter.Verbose($"{host.Name} downloads {image.Location} with curl through a presigned URL (valid until {url.ExpiresAt:u}) into {partial}");
            try
            {
                var (exit, errors) = await HostDownload.CurlAsync(host, url.Url, partial, "images",
                    done =>
                    {
                        if (image.Size > 0) reporter.Progress(activity, $"{done / 1e6:F0} of {image.Size / 1e6:F0} MB", (int)Math.Min(99, done * 100 / image.Size));
                    },
                    cancellationToken).ConfigureAwait(false);
                if (exit != 0)
                    throw new OpenBsdBuildException("ImageDownloadFailed", FailureKind.ConnectionError,
                        $"{host.Name} could not download {image.Location} (curl exit {exit}): {Redact(errors, url)}", image.Location,
                        "Check that the host can reach S3 (or the -EndpointUrl store) and that the image is still published.");

                reporter.Progress(activity, "Checking the SHA-256 on the host", 99);
                string actual = await HashOnHostAsync(host, partial, cancellationToken).ConfigureAwait(false);
                if (actual != sha256)
                    throw new OpenBsdBuildException("ImageChecksumMismatch", FailureKind.InvalidData,
                        $"The image {image.Location} downloaded onto {host.Name} has SHA-256 {actual}, but its metadata says {sha256}. Nothing was booted.",
                        image.Location, "Publish the image again (Publish-OpenBsdImage -Force); the stored object or its metadata is damaged.");
                var moved = await host.Shell.RunAsync($"mv -f {qPartial} {ShellQuote.Quote(path)}", cancellationToken).ConfigureAwait(false);
                if (!moved.Succeeded)
                    throw new OpenBsdBuildException("ImageDownloadFailed", FailureKind.WriteError,
                        $"Could not move the image into place on {host.Name}: {moved.Message}", path, "Check free space in the host's state directory.");
                reporter.Verbose($"{host.Name} holds {image.Location} as {path}, SHA-256 {sha256} checked on the host.");
            }
            finally
            {
                // A partial or mismatching download must never be mistaken for the image later.
                await host.Shell.RunAsync($"rm -f {qPartial}", CancellationToken.None).ConfigureAwait(false);
            }
        }

        private static async Task<string> HashOnHostAsync(MetalHost host, string path, CancellationToken cancellationToken)
        {
            return await Checksums.OfRemoteFileAsync(host.Shell, path, cancellationToken).ConfigureAwait(false)
                ?? throw new OpenBsdBuildException("ImageChecksumFailed", FailureKind.ReadError,
                    $"Could not compute the SHA-256 of {path} on {host.Name}.", path, "Check that the file is readable on the host.");
        }

        private static async Task WriteSidecarAsync(MetalHost host, ImageMetadata metadata, string path, CancellationToken cancellationToken)
        {
            string sidecar = path + ImageMetadata.SidecarSuffix;
            var written = await host.Shell.RunAsync($"printf '%s\\n' {ShellQuote.Quote(metadata.ToJson())} > {ShellQuote.Quote(sidecar)}", cancellationToken)
                .ConfigureAwait(false);
            if (!written.Succeeded)
                throw new OpenBsdBuildException("ImageDownloadFailed", FailureKind.WriteError,
                    $"Could not write the image metadata {sidecar} on {host.Name}: {written.Message}", sidecar, "Check free space in the host's state directory.");
        }

        private static string Redact(string text, PresignedImageUrl url) =>
            text.Replace(url.Url.AbsoluteUri, url.Location.ToString()).Replace(url.Url.Query, "?(signature removed)");
    }
}
