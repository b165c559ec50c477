using System.Collections.Generic;
using System.Linq;

namespace OpenBsdBuild.Scripts
{
    /// <summary>POSIX sh quoting, so paths and arguments survive the trip through /bin/sh -c.</summary>
    public static class ShellQuote
    {
        public static string Quote(string value)
        {
            if (value.Length > 0 && value.All(IsSafe)) return value;
            return "'" + value.Replace("'", "'\\''") + "'";
        }

        public static string Join(IEnumerable<string> words) => string.Join(" ", words.Select(Quote));

        private static bool IsSafe(char c) =>
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '/' || c == '.' || c == '-' || c == '_' || c == '=' || c == ':' || c == ',' || c == '+' || c == '@' || c == '%';
    }
}
