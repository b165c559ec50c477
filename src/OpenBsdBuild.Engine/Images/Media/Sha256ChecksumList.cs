using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Images.Media
{
    /// <summary>
    /// A BSD-style checksum file as published next to the sets ("SHA256 (base76.tgz) = hex"), the
    /// format sha256(1) writes and install.sub compares with "fgrep -qx" (install_files()).
    /// </summary>
    public sealed class Sha256ChecksumList
    {
        private static readonly Regex Line = new Regex(@"^SHA256 \((?<name>.+)\) = (?<hash>[0-9A-Fa-f]{64})$", RegexOptions.CultureInvariant);

        private readonly Dictionary<string, string> _hashes;

        private Sha256ChecksumList(Dictionary<string, string> hashes, string source)
        {
            _hashes = hashes;
            Source = source;
        }

        public string Source { get; }

        /// <summary>File name → lower-case hex SHA-256.</summary>
        public IReadOnlyDictionary<string, string> Entries => _hashes;

        /// <summary>
        /// Reads the list. Lines for other algorithms are skipped; a malformed SHA256 line or a name
        /// listed twice is an error, since either makes the list ambiguous.
        /// </summary>
        public static Sha256ChecksumList Parse(string text, string source)
        {
            var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
            var number = 0;
            foreach (var raw in text.Split('\n'))
            {
                number++;
                var line = raw.TrimEnd('\r');
                if (!line.StartsWith("SHA256 ", StringComparison.Ordinal)) continue;
                var match = Line.Match(line);
                if (!match.Success || hashes.ContainsKey(match.Groups["name"].Value))
                    throw new OpenBsdBuildException("ChecksumListInvalid", FailureKind.SecurityError,
                        $"Line {number} of '{source}' is malformed or repeats a file: '{line}'.", source,
                        "Download the checksum list again from a trusted OpenBSD mirror.");
                hashes.Add(match.Groups["name"].Value, match.Groups["hash"].Value.ToLowerInvariant());
            }
            return new Sha256ChecksumList(hashes, source);
        }

        /// <summary>The expected hash of <paramref name="name"/>; a file that is not listed is a SecurityError.</summary>
        public string ExpectedHash(string name)
        {
            if (_hashes.TryGetValue(name, out var hash)) return hash;
            throw new OpenBsdBuildException("ChecksumMissing", FailureKind.SecurityError,
                $"'{name}' is not listed in '{Source}', so it cannot be verified.", name,
                "Use a file published with this release; check the file name and the release version.");
        }
    }
}
