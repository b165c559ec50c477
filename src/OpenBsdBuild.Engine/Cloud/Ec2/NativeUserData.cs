using System;
using System.Globalization;
using System.IO;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// The user data New-OpenBsdInstance sends: Scripts/native-user-data.sh (an embedded file, runnable by
    /// hand), with its one placeholder filled by a number, so nothing the caller typed reaches the shell.
    /// </summary>
    public static class NativeUserData
    {
        private const string Resource = "OpenBsdBuild.Cloud.Ec2.Scripts.native-user-data.sh";
        private const string LifetimePlaceholder = "@@MAX_LIFETIME_MINUTES@@";

        public static string Template
        {
            get
            {
                using var stream = typeof(NativeUserData).Assembly.GetManifestResourceStream(Resource)
                    ?? throw new InvalidOperationException("The module is missing its embedded script " + Resource + ".");
                using var reader = new StreamReader(stream);
                return reader.ReadToEnd();
            }
        }

        /// <summary>Whole minutes, rounded up: the instance never dies before its promised lifetime.</summary>
        public static string Render(TimeSpan maxLifetime) =>
            Template.Replace(LifetimePlaceholder, ((long)Math.Ceiling(maxLifetime.TotalMinutes)).ToString(CultureInfo.InvariantCulture));
    }
}
