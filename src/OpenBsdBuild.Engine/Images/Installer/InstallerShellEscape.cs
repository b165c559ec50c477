using System;
using System.Collections.Generic;
using System.Linq;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>
    /// Builds "!command" answers for the interactive installer. At any non-password prompt,
    /// install.sub _ask() evals an answer that starts with '!' and then asks the same question
    /// again; the interactive path uses that to do what only autoinstall has questions for
    /// (the disklabel template, the public ssh keys), so both paths install the same system.
    /// </summary>
    public static class InstallerShellEscape
    {
        /// <summary>
        /// Longest line typed at the console. Answers are read through the tty in canonical mode,
        /// which holds at most MAX_CANON (255) bytes per line on OpenBSD; stay well below.
        /// </summary>
        public const int MaxLineLength = 200;

        /// <summary>Where the template is written in the ramdisk; /tmp/i is the installer's scratch directory.</summary>
        public const string TemplatePath = "/tmp/i/disklabel.template";

        /// <summary>
        /// Lines that write <paramref name="template"/> to the ramdisk and label
        /// <paramref name="rootDisk"/> with it, writing the fstab the installer reads next. This is the
        /// command install.sub disklabel_autolayout() runs for a template URL in autoinstall.
        /// Afterwards the layout question is answered 'c': with the fstab already written, the
        /// installer skips the manual editor (md_prep_disklabel: "[[ -s $_f ]] && return").
        /// </summary>
        public static IReadOnlyList<string> ApplyDisklabelTemplate(DisklabelTemplate template, string rootDisk)
        {
            var lines = WriteFile(TemplatePath, template.ToText());
            var label = $"!disklabel -T {TemplatePath} -F /tmp/i/fstab.{rootDisk} -w -A {rootDisk}";
            return lines.Concat(new[] { label }).ToList();
        }

        /// <summary>
        /// Lines that append <paramref name="key"/> to an installed authorized_keys file, as install.sub
        /// does in autoinstall (root: /mnt/root/.ssh, user: the home directory copied from skel).
        /// Run at "Exit to (S)hell, (H)alt or (R)eboot?", while the new system is still mounted on /mnt.
        /// </summary>
        public static IReadOnlyList<string> AppendAuthorizedKey(string authorizedKeysPath, string key) =>
            WriteFile(authorizedKeysPath, key + "\n", append: true);

        public static string RootAuthorizedKeys => "/mnt/root/.ssh/authorized_keys";

        public static string UserAuthorizedKeys(string login) => $"/mnt/home/{login}/.ssh/authorized_keys";

        /// <summary>
        /// Writes text with short commands packed into as few lines as fit: "print -r --" per line of
        /// text with single-quoted words (the installer reads answers without -r, so no backslashes),
        /// long lines in "print -rn --" pieces.
        /// </summary>
        internal static IReadOnlyList<string> WriteFile(string path, string text, bool append = false)
        {
            if (text.IndexOf('\'') >= 0 || text.IndexOf('\\') >= 0)
                throw new ArgumentException("Text written through the installer shell may not contain quotes or backslashes.", nameof(text));
            var commands = new List<string>();
            if (!append) commands.Add($": >{path}");
            var lines = text.EndsWith("\n", StringComparison.Ordinal) ? text.Substring(0, text.Length - 1).Split('\n') : text.Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var newline = i < lines.Length - 1 || text.EndsWith("\n", StringComparison.Ordinal);
                var whole = $"print -r{(newline ? "" : "n")} -- '{lines[i]}' >>{path}";
                if (whole.Length + 1 <= MaxLineLength) { commands.Add(whole); continue; }
                var room = MaxLineLength - 1 - $"print -rn -- '' >>{path}".Length;
                for (var start = 0; start < lines[i].Length; start += room)
                    commands.Add($"print -rn -- '{lines[i].Substring(start, Math.Min(room, lines[i].Length - start))}' >>{path}");
                if (newline) commands.Add($"echo >>{path}");
            }
            return Pack(commands);
        }

        /// <summary>Joins commands with ';' into "!" lines of at most <see cref="MaxLineLength"/> characters.</summary>
        private static IReadOnlyList<string> Pack(IEnumerable<string> commands)
        {
            var result = new List<string>();
            var current = "";
            foreach (var command in commands)
            {
                if (current.Length > 0 && current.Length + 2 + command.Length > MaxLineLength)
                {
                    result.Add(current);
                    current = "";
                }
                current = current.Length == 0 ? "!" + command : current + "; " + command;
            }
            if (current.Length > 0) result.Add(current);
            return result;
        }
    }
}
