using System.Collections.Generic;
using System.Text.RegularExpressions;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// Reads SSH host key fingerprints from an instance's console output. Both cloud-init
    /// (keys-to-console) and our user data print them between these marker lines; the console is
    /// written by the instance itself before any network peer could tamper with it, which is why
    /// it is the trust anchor instead of first use.
    /// </summary>
    public static class ConsoleFingerprints
    {
        public const string Begin = "-----BEGIN SSH HOST KEY FINGERPRINTS-----";
        public const string End = "-----END SSH HOST KEY FINGERPRINTS-----";
        private static readonly Regex Fingerprint = new Regex(@"SHA256:[A-Za-z0-9+/]{43}=?", RegexOptions.CultureInvariant);

        /// <summary>Fingerprints of the last complete marker block (a reboot prints a new one); empty when there is none yet.</summary>
        public static IReadOnlyList<string> Parse(string? console)
        {
            var result = new List<string>();
            if (string.IsNullOrEmpty(console)) return result;
            int end = console!.LastIndexOf(End, System.StringComparison.Ordinal);
            if (end < 0) return result;
            int begin = console.LastIndexOf(Begin, end, System.StringComparison.Ordinal);
            if (begin < 0) return result;
            string block = console.Substring(begin + Begin.Length, end - begin - Begin.Length);
            foreach (Match m in Fingerprint.Matches(block))
            {
                string f = HostKeyPolicy.Normalize(m.Value);
                if (!result.Contains(f)) result.Add(f);
            }
            return result;
        }
    }
}
