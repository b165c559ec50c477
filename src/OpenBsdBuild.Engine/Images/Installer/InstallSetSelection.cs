using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>
    /// Which set files the installer installs for the "Set name(s)?" answers, worked out the way
    /// install.sub does (1.1266, select_sets/install_files): the sets offered are those of its list
    /// that the location holds, in install order; all but site sets start selected (bsd.mp only on
    /// more than one CPU); each answer is split into words applied in turn: "-pattern" deselects,
    /// "pattern" or "+pattern" selects, "all" is "*", "done" ends, "abort" selects nothing. Patterns
    /// are shell globs on the file names. This is what the image's metadata records as its sets.
    /// </summary>
    public static class InstallSetSelection
    {
        /// <param name="answers">The "Set name(s)?" answers, in order.</param>
        /// <param name="available">File names at the sets location (e.g. the entries of its SHA256).</param>
        /// <param name="shortVersion">"78" for 7.8.</param>
        /// <param name="cpuCount">CPUs the installer sees (hw.ncpufound).</param>
        public static List<string> Resolve(IEnumerable<string> answers, IEnumerable<string> available, string shortVersion, int cpuCount)
        {
            var present = new HashSet<string>(available, StringComparer.Ordinal);
            var kernels = cpuCount > 1 ? new[] { "bsd", "bsd.mp", "bsd.rd" } : new[] { "bsd", "bsd.rd" };
            var sets = new[] { "base", "comp", "man", "game", "xbase", "xshare", "xfont", "xserv" }.Select(s => s + shortVersion + ".tgz");
            var defaults = kernels.Concat(sets).ToList();
            var offered = defaults.Concat(new[] { "site" + shortVersion + ".tgz" }).Where(present.Contains).ToList();
            var selected = new HashSet<string>(defaults.Where(present.Contains), StringComparer.Ordinal);

            foreach (string answer in answers)
            {
                foreach (string word in answer.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries))
                {
                    if (word == "done") return InOrder(offered, selected);
                    if (word == "abort") return new List<string>();
                    bool remove = word.StartsWith("-", StringComparison.Ordinal);
                    string pattern = word.TrimStart('+', '-');
                    if (pattern == "all") pattern = "*";
                    var glob = Glob(pattern);
                    foreach (string file in offered.Where(f => glob.IsMatch(f)))
                    {
                        if (remove) selected.Remove(file);
                        else selected.Add(file);
                    }
                }
            }
            // With no "done" among the answers the question's default, done, ends it.
            return InOrder(offered, selected);
        }

        private static List<string> InOrder(List<string> offered, HashSet<string> selected) => offered.Where(selected.Contains).ToList();

        /// <summary>
        /// A ksh pattern (*, ?, [...], [!...]) matched against a whole file name, as the installer's ksh does;
        /// no glob library has ksh's rules (FileSystemGlobbing has no ? or [...]).
        /// </summary>
        private static Regex Glob(string pattern)
        {
            var regex = new StringBuilder("^");
            for (int i = 0; i < pattern.Length; i++)
            {
                char c = pattern[i];
                int close = c == '[' ? pattern.IndexOf(']', i + 2) : -1;
                if (c == '*') regex.Append(".*");
                else if (c == '?') regex.Append('.');
                else if (close > i)
                {
                    string body = pattern.Substring(i + 1, close - i - 1);
                    if (body.StartsWith("!", StringComparison.Ordinal)) body = "^" + body.Substring(1);
                    regex.Append('[').Append(body.Replace("\\", "\\\\")).Append(']');
                    i = close;
                }
                else regex.Append(Regex.Escape(c.ToString()));
            }
            return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant);
        }
    }
}
