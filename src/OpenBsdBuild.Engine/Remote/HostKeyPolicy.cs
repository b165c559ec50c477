using System;
using System.Collections.Generic;
using System.Linq;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// Which SSH host keys to accept. There is no trust on first use: either the expected
    /// fingerprints are known, or the caller said explicitly to trust whatever is presented.
    /// </summary>
    public sealed class HostKeyPolicy
    {
        private HostKeyPolicy(IReadOnlyList<string> expected, bool trustAny)
        {
            Expected = expected;
            TrustAny = trustAny;
        }

        /// <summary>Normalized fingerprints ("SHA256:" + unpadded base64).</summary>
        public IReadOnlyList<string> Expected { get; }
        public bool TrustAny { get; }

        public static HostKeyPolicy Pinned(IEnumerable<string> fingerprints)
        {
            var list = fingerprints.Where(f => !string.IsNullOrWhiteSpace(f)).Select(Normalize).Distinct().ToList();
            if (list.Count == 0) throw new ArgumentException("At least one fingerprint is needed.", nameof(fingerprints));
            return new HostKeyPolicy(list, false);
        }

        public static HostKeyPolicy TrustAnyKey() => new HostKeyPolicy(Array.Empty<string>(), true);

        public bool Accepts(string fingerprint) => TrustAny || Expected.Contains(Normalize(fingerprint));

        /// <summary>Accepts "SHA256:abc", "abc" or "abc=" and returns "SHA256:abc".</summary>
        public static string Normalize(string fingerprint)
        {
            string f = fingerprint.Trim();
            if (f.StartsWith("SHA256:", StringComparison.OrdinalIgnoreCase)) f = f.Substring(7);
            return "SHA256:" + f.TrimEnd('=');
        }

        /// <summary>True for something shaped like an OpenSSH SHA256 fingerprint (43 base64 chars).</summary>
        public static bool IsWellFormed(string fingerprint)
        {
            string body = Normalize(fingerprint).Substring(7);
            return body.Length == 43 && body.All(c => char.IsLetterOrDigit(c) || c == '+' || c == '/');
        }

        public override string ToString() => TrustAny ? "trust any key (explicit)" : string.Join(", ", Expected);
    }
}
