using System.Text.RegularExpressions;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>Checks OpenSSH public key lines before they go into a response file or a shell escape.</summary>
    internal static class InstallKeys
    {
        // "type base64 [comment]". Quotes and backslashes are refused because the interactive path
        // writes keys with single-quoted shell words (see InstallerShellEscape).
        private static readonly Regex KeyLine = new Regex(
            @"^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^'\\\r\n]*)?$");

        public static void Validate(string parameter, string? key)
        {
            if (key == null) return;
            if (!KeyLine.IsMatch(key) || key.Trim() != key)
                throw OpenBsdBuildException.BadParameter(parameter, key, "is not a single OpenSSH public key line.",
                    "Pass the contents of an id_*.pub file, e.g. 'ssh-ed25519 AAAA... user@host', without quotes.");
        }
    }
}
