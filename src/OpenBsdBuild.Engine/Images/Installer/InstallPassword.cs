using System.Text.RegularExpressions;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>
    /// Password answers for the installer. install.sub encr_pwd() passes a bcrypt hash or exactly
    /// thirteen '*' through unchanged and encrypts anything else (docs/openbsd-notes.md), so all three forms work
    /// the same way in a response file and when typed at the interactive prompt.
    /// </summary>
    public static class InstallPassword
    {
        /// <summary>Thirteen asterisks: the account exists but password login is impossible.</summary>
        public const string Disabled = "*************";

        /// <summary>True for the encrypt(1) bcrypt form the installer stores as is ("$2b$NN$...", over 40 chars).</summary>
        public static bool IsHash(string value) => value.Length > 40 && Regex.IsMatch(value, @"^\$2.\$[0-9][0-9]\$");

        internal static void Validate(string parameter, string? value, bool required)
        {
            if (string.IsNullOrEmpty(value))
            {
                if (!required) return;
                throw OpenBsdBuildException.BadParameter(parameter, "", "is empty; the installer requires it.",
                    $"Give a password, an encrypt(1) hash, or '{Disabled}' to disable password logins.");
            }
            // One line, typed through a tty in canonical mode (MAX_CANON 255); the response file
            // strips surrounding blanks, so they would silently change the password.
            if (value!.IndexOfAny(new[] { '\r', '\n' }) >= 0 || value.Length > InstallerShellEscape.MaxLineLength
                || value.Trim() != value)
                throw OpenBsdBuildException.BadParameter(parameter, "(hidden)",
                    $"must be one line of at most {InstallerShellEscape.MaxLineLength} characters without leading or trailing blanks.",
                    "Choose a shorter password or pass an encrypt(1) hash.");
        }
    }
}
