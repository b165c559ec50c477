using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Builds;

namespace OpenBsdBuild.Images.Media
{
    /// <summary>
    /// Verifies downloaded install media and sets the way the installer does: SHA256.sig must carry
    /// a valid signature by the trusted release key (signify -V -e), and each file's SHA-256 must
    /// match its line in the signed list. Any failure is a SecurityError that stops the build.
    /// </summary>
    public sealed class InstallMediaVerifier
    {
        public InstallMediaVerifier(SignifyPublicKey trustedKey) =>
            TrustedKey = trustedKey ?? throw new ArgumentNullException(nameof(trustedKey));

        public SignifyPublicKey TrustedKey { get; }

        /// <summary>Verifies SHA256.sig as published on the mirrors (signature with the list embedded) and returns the list.</summary>
        public Sha256ChecksumList VerifyChecksumList(byte[] sha256Sig, string source = "SHA256.sig")
        {
            var message = Signify.VerifyEmbedded(TrustedKey, sha256Sig, source);
            return Sha256ChecksumList.Parse(Encoding.UTF8.GetString(message), source);
        }

        /// <summary>Verifies a checksum list against a detached signature (signify -S without -e).</summary>
        public Sha256ChecksumList VerifyChecksumList(byte[] detachedSignature, byte[] sha256, string source)
        {
            Signify.Verify(TrustedKey, SignifySignature.Parse(detachedSignature, source + ".sig"), sha256, source);
            return Sha256ChecksumList.Parse(Encoding.UTF8.GetString(sha256), source);
        }

        /// <summary>
        /// Hashes <paramref name="path"/> and compares it with the list entry for
        /// <paramref name="name"/> (default: the file name). Throws ChecksumMissing or ChecksumMismatch.
        /// </summary>
        public Task VerifyFileAsync(Sha256ChecksumList checksums, string path, string? name = null,
            CancellationToken cancellationToken = default) =>
            VerifyChecksumAsync(checksums, path, name, cancellationToken);

        /// <summary>The checksum comparison alone, for a list whose signature could not be checked (no key known).</summary>
        public static async Task VerifyChecksumAsync(Sha256ChecksumList checksums, string path, string? name = null,
            CancellationToken cancellationToken = default)
        {
            name ??= Path.GetFileName(path);
            var expected = checksums.ExpectedHash(name);
            string actual;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true))
                actual = await ComputeSha256Async(stream, cancellationToken).ConfigureAwait(false);
            if (!string.Equals(expected, actual, StringComparison.Ordinal))
                throw new OpenBsdBuildException("ChecksumMismatch", FailureKind.SecurityError,
                    $"'{path}' has SHA-256 {actual}, but the signed list '{checksums.Source}' says {expected} for '{name}'. The file is corrupt or was modified.",
                    path, "Delete the file and download it again from a trusted OpenBSD mirror.");
        }

        /// <summary>Verifies SHA256.sig and then each file; returns the verified list.</summary>
        public async Task<Sha256ChecksumList> VerifyFilesAsync(byte[] sha256Sig, string[] paths,
            CancellationToken cancellationToken = default)
        {
            var list = VerifyChecksumList(sha256Sig);
            foreach (var path in paths)
                await VerifyFileAsync(list, path, null, cancellationToken).ConfigureAwait(false);
            return list;
        }

        /// <summary>Lower-case hex SHA-256 of a stream, read to its end.</summary>
        public static async Task<string> ComputeSha256Async(Stream stream, CancellationToken cancellationToken = default)
        {
            using (var sha = SHA256.Create())
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await stream.ReadAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false)) > 0)
                    sha.TransformBlock(buffer, 0, read, null, 0);
                sha.TransformFinalBlock(buffer, 0, 0);
                return Checksums.Hex(sha.Hash!);
            }
        }
    }
}
