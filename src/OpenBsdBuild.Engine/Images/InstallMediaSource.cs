using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Media;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// Install media whose SHA-256 is known from the (signed, when a key is known) SHA256.sig: a file on
    /// this machine that matched it, or a mirror URL for a host to fetch and check itself.
    /// </summary>
    public sealed class VerifiedInstallMedia
    {
        public VerifiedInstallMedia(string name, string? path, Uri? url, string sha256, bool signatureChecked, string? keySource,
            IReadOnlyCollection<string> releaseFiles)
        {
            Name = name;
            Path = path;
            Url = url;
            ReleaseFiles = releaseFiles;
            Sha256 = sha256;
            SignatureChecked = signatureChecked;
            KeySource = keySource;
        }

        /// <summary>Its name in SHA256.sig, e.g. install78.img.</summary>
        public string Name { get; }
        /// <summary>The verified file on this machine, or null when it was left on the mirror.</summary>
        public string? Path { get; }
        public Uri? Url { get; }
        public string Sha256 { get; }
        /// <summary>Whether SHA256.sig's Ed25519 signature was verified (else only the checksum was).</summary>
        public bool SignatureChecked { get; }
        public string? KeySource { get; }
        /// <summary>Every file the verified SHA256 list names: the release's sets, kernels and images.</summary>
        public IReadOnlyCollection<string> ReleaseFiles { get; }
    }

    /// <summary>
    /// Finds the install media (a local file, or downloaded from a mirror with its SHA256.sig) and
    /// verifies it before anything boots: the signify signature of SHA256.sig when a public key is
    /// given or installed for that release, and always the file's SHA-256. Any failure stops the build.
    /// </summary>
    public static class InstallMediaSource
    {
        public const string ChecksumFileName = "SHA256.sig";

        /// <param name="downloadDirectory">Where mirror downloads go (partial files are removed on failure).</param>
        /// <param name="downloadMedia">False: from a mirror only SHA256.sig comes here; a remote host fetches the media and checks its SHA-256.</param>
        public static async Task<VerifiedInstallMedia> PrepareAsync(ImageBuildRequest request, string downloadDirectory, bool downloadMedia,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string media, sig;
            if (request.InstallMedia != null)
            {
                media = Path.GetFullPath(request.InstallMedia);
                sig = Path.Combine(Path.GetDirectoryName(media)!, ChecksumFileName);
                if (!File.Exists(media))
                    throw OpenBsdBuildException.BadParameter("InstallMedia", request.InstallMedia, "no such file.", "Pass the path of installNN.img.");
                if (!File.Exists(sig))
                    throw new OpenBsdBuildException("InstallMediaChecksumMissing", FailureKind.SecurityError,
                        $"There is no {ChecksumFileName} beside '{media}', so the media cannot be verified.", media,
                        $"Download {ChecksumFileName} of the same release and architecture from the mirror into that folder.");
            }
            else
            {
                var folder = new Uri(request.Mirror!.AbsoluteUri.TrimEnd('/') + $"/{request.Version}/{request.Architecture}/");
                Directory.CreateDirectory(downloadDirectory);
                sig = Path.Combine(downloadDirectory, ChecksumFileName);
                media = Path.Combine(downloadDirectory, request.MediaFileName);
                using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
                await DownloadAsync(http, new Uri(folder, ChecksumFileName), sig, request, reporter, cancellationToken).ConfigureAwait(false);
                if (!downloadMedia)
                {
                    var (list, keySource) = VerifyList(request, File.ReadAllBytes(sig), sig, reporter);
                    return Verified(list, keySource, request.MediaFileName, null, new Uri(folder, request.MediaFileName));
                }
                await DownloadAsync(http, new Uri(folder, request.MediaFileName), media, request, reporter, cancellationToken).ConfigureAwait(false);
            }
            return await VerifyAsync(request, media, File.ReadAllBytes(sig), sig, reporter, cancellationToken).ConfigureAwait(false);
        }

        private static async Task<VerifiedInstallMedia> VerifyAsync(ImageBuildRequest request, string media, byte[] sig, string sigPath,
            IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var (list, keySource) = VerifyList(request, sig, sigPath, reporter);
            reporter.Progress("Verifying the install media", $"SHA-256 of {Path.GetFileName(media)}", -1);
            try
            {
                await InstallMediaVerifier.VerifyChecksumAsync(list, media, Path.GetFileName(media), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                reporter.ProgressDone("Verifying the install media");
            }
            reporter.Verbose($"{media}: SHA-256 matches {sigPath}.");
            return Verified(list, keySource, Path.GetFileName(media), media, null);
        }

        private static VerifiedInstallMedia Verified(Sha256ChecksumList list, string? keySource, string name, string? path, Uri? url) =>
            new VerifiedInstallMedia(name, path, url, list.ExpectedHash(name), keySource != null, keySource, list.Entries.Keys.ToList());

        /// <summary>
        /// SHA256.sig's list, its signature checked when a key is known (else said loudly); the key's source, or null when unsigned.
        /// </summary>
        private static (Sha256ChecksumList List, string? KeySource) VerifyList(ImageBuildRequest request, byte[] sig, string sigPath, IOperationReporter reporter)
        {
            var (key, source) = TrustedKey(request);
            if (key != null)
            {
                var list = new InstallMediaVerifier(key).VerifyChecksumList(sig, sigPath);
                reporter.Verbose($"{sigPath}: signify signature verified with {source}.");
                return (list, source);
            }
            // Without the release key only integrity is checked, not who made the file: say so loudly.
            var unverified = SignifySignature.Parse(sig, sigPath);
            reporter.Warning($"No signify public key for OpenBSD {request.Version} was given or found in /etc/signify, so the signature of {sigPath} was not checked; " +
                             "only the media's SHA-256 against it. Pass -SignifyPublicKey openbsd-" + request.ShortVersion + "-base.pub to check who signed it.");
            return (Sha256ChecksumList.Parse(Encoding.UTF8.GetString(unverified.EmbeddedMessage), sigPath), null);
        }

        private static (SignifyPublicKey?, string?) TrustedKey(ImageBuildRequest request)
        {
            string? path = request.SignifyPublicKey;
            if (path == null)
            {
                // An OpenBSD machine has the keys of this and the next release installed.
                string installed = $"/etc/signify/openbsd-{request.ShortVersion}-base.pub";
                if (!File.Exists(installed)) return (null, null);
                path = installed;
            }
            if (!File.Exists(path))
                throw OpenBsdBuildException.BadParameter("SignifyPublicKey", path, "no such file.", $"Pass the path of openbsd-{request.ShortVersion}-base.pub.");
            return (SignifyPublicKey.Parse(File.ReadAllBytes(path), path), path);
        }

        private static async Task DownloadAsync(HttpClient http, Uri url, string path, ImageBuildRequest request, IOperationReporter reporter,
            CancellationToken cancellationToken)
        {
            string partial = path + ".partial";
            string activity = $"Downloading {Path.GetFileName(path)}";
            reporter.Verbose($"GET {url} -> {path}");
            try
            {
                using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.NotFound)
                    throw new OpenBsdBuildException("InstallMediaNotOnMirror", FailureKind.ObjectNotFound,
                        $"The mirror has no {url} — is OpenBSD {request.Version} for {request.Architecture} published there?", url,
                        "Check -Version, -Architecture and -Mirror (the folder must contain <version>/<arch>/SHA256.sig).");
                if (!response.IsSuccessStatusCode)
                    throw new OpenBsdBuildException("InstallMediaDownloadFailed", FailureKind.ConnectionError,
                        $"The mirror answered {(int)response.StatusCode} {response.ReasonPhrase} for {url}.", url, "Try again, or another mirror.");
                long? total = response.Content.Headers.ContentLength;
                using (var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false))
                using (var file = File.Create(partial))
                {
                    var buffer = new byte[1 << 16];
                    long done = 0;
                    int read;
                    while ((read = await body.ReadAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        await file.WriteAsync(buffer, 0, read, cancellationToken).ConfigureAwait(false);
                        done += read;
                        if (total > 0) reporter.Progress(activity, $"{done / 1e6:F0} of {total / 1e6:F0} MB", (int)(done * 100 / total.Value));
                    }
                }
                File.Delete(path);
                File.Move(partial, path);
            }
            catch (HttpRequestException ex)
            {
                throw new OpenBsdBuildException("InstallMediaDownloadFailed", FailureKind.ConnectionError,
                    $"Could not download {url}: {ex.Message}", url, "Check the mirror URL and this machine's network.", ex);
            }
            finally
            {
                File.Delete(partial);
                reporter.ProgressDone(activity);
            }
        }
    }
}
