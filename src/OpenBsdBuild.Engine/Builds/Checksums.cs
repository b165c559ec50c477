using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Builds
{
    /// <summary>SHA-256 on this side, and reading the two output formats guests print.</summary>
    public static class Checksums
    {
        /// <summary>Lower-case hex, as sha256sum, sha256(1) and S3's MD5 ETags write it.</summary>
        public static string Hex(byte[] bytes)
        {
            var chars = new char[bytes.Length * 2];
            for (int i = 0; i < bytes.Length; i++)
            {
                chars[2 * i] = "0123456789abcdef"[bytes[i] >> 4];
                chars[2 * i + 1] = "0123456789abcdef"[bytes[i] & 15];
            }
            return new string(chars);
        }

        public static string Sha256File(string path)
        {
            using var sha = SHA256.Create();
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            return Hex(sha.ComputeHash(stream));
        }

        /// <summary>
        /// A shell command that prints the SHA-256 of the given (already quoted) paths in a form
        /// <see cref="ParseListing"/> reads: sha256sum on Linux, sha256(1) on OpenBSD, shasum on macOS.
        /// </summary>
        public static string ListingCommand(string quotedPaths) =>
            $"if command -v sha256sum >/dev/null 2>&1; then sha256sum -- {quotedPaths}; " +
            $"elif command -v sha256 >/dev/null 2>&1; then sha256 -- {quotedPaths}; else shasum -a 256 -- {quotedPaths}; fi";

        /// <summary>
        /// Parses `sha256sum` ("hex  path") and OpenBSD `sha256` ("SHA256 (path) = hex") output
        /// into path → lower-case hex.
        /// </summary>
        public static Dictionary<string, string> ParseListing(string output)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string line in output.Split('\n'))
                if (TryParseLine(line, out string path, out string hex)) result[path] = hex;
            return result;
        }

        /// <summary>
        /// One line of either format; false for anything else (the rest of a guest's stderr, where the artifact
        /// fetch's hashes share the stream with its errors).
        /// </summary>
        public static bool TryParseLine(string raw, out string path, out string hex)
        {
            string line = raw.TrimEnd('\r');
            path = hex = "";
            if (line.StartsWith("SHA256 (", StringComparison.Ordinal))
            {
                int close = line.LastIndexOf(") = ", StringComparison.Ordinal);
                string digest = close > 8 ? line.Substring(close + 4).Trim() : "";
                if (!IsHex(digest)) return false;
                path = line.Substring(8, close - 8);
                hex = digest.ToLowerInvariant();
                return true;
            }
            // GNU/busybox: two spaces, or " *" for binary mode.
            if (line.Length <= 66 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*') || !IsHex(line.Substring(0, 64))) return false;
            path = line.Substring(66);
            hex = line.Substring(0, 64).ToLowerInvariant();
            return true;
        }

        private static bool IsHex(string text) => text.Length == 64 && text.All(Uri.IsHexDigit);

        /// <summary>The SHA-256 of one file on a host or guest, or null when it could not be read.</summary>
        public static async Task<string?> OfRemoteFileAsync(IHostShell shell, string path, CancellationToken cancellationToken)
        {
            var result = await shell.RunAsync(ListingCommand(ShellQuote.Quote(path)), cancellationToken).ConfigureAwait(false);
            return result.Succeeded && ParseListing(result.Stdout).TryGetValue(path, out string? hash) ? hash : null;
        }

        /// <summary>One line of OpenBSD's sha256(1) format, as written to the SHA256 file beside artifacts.</summary>
        public static string BsdLine(string name, string hex) => $"SHA256 ({name}) = {hex}";
    }

    /// <summary>Writes through to a file while hashing, so a download is verified without reading it twice.</summary>
    internal sealed class HashingWriteStream : SequentialStream, Reporting.INamedStream
    {
        private readonly Stream _inner;
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        public HashingWriteStream(Stream inner) => _inner = inner;

        public long Written { get; private set; }
        public string? Name => (_inner as FileStream)?.Name;
        public string HexDigest() => Checksums.Hex(_hash.GetHashAndReset());

        public override void Write(byte[] buffer, int offset, int count)
        {
            _hash.AppendData(buffer, offset, count);
            _inner.Write(buffer, offset, count);
            Written += count;
        }

        public override bool CanRead => false;
        public override bool CanWrite => true;
        public override long Length => Written;
        public override long Position { get => Written; set => throw new NotSupportedException(); }
        public override void Flush() => _inner.Flush();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                _hash.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
