using System.Collections.Generic;
using System.Linq;

namespace OpenBsdBuild.Reporting
{
    /// <summary>Replaces secret values with *** in anything shown or logged.</summary>
    public sealed class SecretMasker
    {
        private readonly List<string> _secrets;

        public SecretMasker(IEnumerable<string> secrets) =>
            _secrets = secrets.Where(s => !string.IsNullOrEmpty(s)).OrderByDescending(s => s.Length).ToList();

        public string Mask(string text)
        {
            foreach (string secret in _secrets) text = text.Replace(secret, "***");
            return text;
        }
    }
}
