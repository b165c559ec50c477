using System.Linq;
using System.Text.RegularExpressions;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>
    /// The user created by the installer's "Setup a user?" question. It gets login class staff and
    /// membership of wheel (install.sub do_install); builds run as this user.
    /// </summary>
    public sealed class InstallUser
    {
        // install.sub user_setup() refuses these names even though they match the pattern.
        private static readonly string[] Reserved = { "root", "daemon", "operator", "bin", "build", "sshd", "www", "nobody", "ftp" };

        public string LoginName { get; set; } = "";

        /// <summary>GECOS name; the installer's default is the login name.</summary>
        public string? FullName { get; set; }

        /// <summary>Defaults to disabled: the build user logs in with its key only.</summary>
        public string Password { get; set; } = InstallPassword.Disabled;

        public string? PublicKey { get; set; }

        public string EffectiveFullName => string.IsNullOrEmpty(FullName) ? LoginName : FullName!;

        internal void Validate()
        {
            // Same rule as install.sub user_setup(): [a-z]*([-a-z0-9_]), at most 31 characters.
            if (!Regex.IsMatch(LoginName ?? "", "^[a-z][-a-z0-9_]{0,30}$") || Reserved.Contains(LoginName))
                throw OpenBsdBuildException.BadParameter("BuildUser", LoginName, "is not a login name the installer accepts.",
                    "Use a lower-case name of up to 31 characters that is not a system account, e.g. 'builder'.");
            var name = EffectiveFullName;
            if (name.IndexOfAny(new[] { ':', '&', ',', '\r', '\n', '=' }) >= 0 || name.Length > 100 || name.Trim() != name)
                throw OpenBsdBuildException.BadParameter("BuildUserFullName", name, "contains ':', '&', ',' or '=', or is too long.",
                    "Use a plain name of up to 100 characters.");
            InstallPassword.Validate("BuildUserPassword", Password, required: true);
            InstallKeys.Validate("BuildUserPublicKey", PublicKey);
        }
    }
}
