using System;
using System.Collections.Generic;
using System.Linq;
using Xunit;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>Compares what a <see cref="NetnsSshHost"/> made with logCommands was made to do with what -Verbose said.</summary>
    public static class TraceAssert
    {
        /// <summary>
        /// Both ways for commands: each one the server ran was announced as "&lt;where&gt;: &lt;command&gt;", and
        /// each announced one ran. Each SFTP open, forward and reverse forward must have been announced
        /// too. Command lines are shown whole unless they span lines or pass 2,000 characters; then the
        /// first line (or its start) must show, with a note after "  # ".
        /// </summary>
        public static void EverythingShows(NetnsSshHost server, string where, IEnumerable<string> verbose)
        {
            var all = verbose.ToList();
            string prefix = where + ": ";
            var shown = all.Where(v => v.StartsWith(prefix, StringComparison.Ordinal)).Select(v => v.Substring(prefix.Length)).ToList();
            // The host registry is the process's: another test's Get-OpenBsdGuest or guest-name completion lists the guests
            // of every attached host, this one too, in its own runspace and -Verbose.
            var commands = server.ExecutedCommands().Where(c => c != NetnsSshHost.SftpServer).Distinct().ToList();
            Assert.NotEmpty(commands);
            foreach (string command in commands.Where(c => !IsGuestListing(c)))
                Assert.True(shown.Any(s => Shows(s, command)), $"Not shown with -Verbose: {where}: {command}\nVerbose was:\n{string.Join("\n", all)}");

            string[] notCommands = { "SSH connection ", "forward ", "reverse forward ", "sftp get ", "sftp put ", "get " }; // "get": a file cut from a streamed command's output
            foreach (string s in shown.Where(s => !notCommands.Any(n => s.StartsWith(n, StringComparison.Ordinal))))
                Assert.True(commands.Any(c => Shows(s, c)), $"Announced but never run on {where}: {s}");

            foreach (var (path, write) in server.SftpOpened())
            {
                string quoted = path.All(c => char.IsLetterOrDigit(c) || "/._-=:,+@%".Contains(c)) ? path : "'" + path.Replace("'", "'\\''") + "'";
                Assert.True(write
                        ? shown.Any(s => s.StartsWith("sftp put ", StringComparison.Ordinal) && s.EndsWith("-> " + quoted, StringComparison.Ordinal))
                        : shown.Any(s => s.StartsWith($"sftp get {quoted} -> ", StringComparison.Ordinal)),
                    $"SFTP {(write ? "write" : "read")} of {path} not shown with -Verbose");
            }
            foreach (string forward in server.ForwardTargets())
                Assert.Contains(shown, s => s.StartsWith("forward 127.0.0.1:", StringComparison.Ordinal) && s.EndsWith(" -> " + forward, StringComparison.Ordinal));
            foreach (string listen in server.ReverseForwards())
                Assert.Contains(shown, s => s.StartsWith($"reverse forward {listen} -> ", StringComparison.Ordinal));
        }

        private static bool IsGuestListing(string command) =>
            command.StartsWith("for d in ", StringComparison.Ordinal) && command.Contains("/*/; do [ -f \"$d/guest.json\" ] || continue;");

        private static bool Shows(string shown, string command)
        {
            if (shown == command || shown.StartsWith(command + "  # ", StringComparison.Ordinal)) return true;
            string first = command.Split('\n')[0];
            if (first == command && command.Length <= 2000) return false;
            string start = first.Substring(0, Math.Min(first.Length, 2000));
            return shown.StartsWith(start, StringComparison.Ordinal) && shown.Contains("  # ");
        }
    }
}
