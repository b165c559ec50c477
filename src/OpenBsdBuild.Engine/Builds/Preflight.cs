using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Builds
{
    /// <summary>
    /// Rules out the boring causes before anything is sent, in one round trip: free space,
    /// the data-size limit (OpenBSD's default login class caps it at 1536M, and rustc's own
    /// port refuses to build below 3 GB: docs/openbsd-notes.md), and that the command exists.
    /// </summary>
    public static class Preflight
    {
        /// <summary>Below this data-size limit big compiles and links die "out of memory".</summary>
        public const long RecommendedDataSizeKb = 3L * 1024 * 1024;

        public sealed class Findings
        {
            /// <summary>Set when /tmp is too small and the build should use a TMPDIR in the working directory instead.</summary>
            public string? TmpDir { get; set; }
            public bool RaiseDataSize { get; set; }
        }

        private static readonly HashSet<string> ShellWords = new HashSet<string>(StringComparer.Ordinal)
        {
            "if", "then", "for", "while", "until", "case", "do", "{", "(", "!", "[", "[[", "test", "cd", "set", "export", "exec",
            "eval", ".", "source", "true", "false", ":", "echo", "printf", "ulimit", "umask", "env", "time", "nice", "nohup", "exit", "read",
        };

        /// <summary>The program the command starts with, or null when that cannot be known before the sources arrive.</summary>
        internal static string? FirstProgram(string command)
        {
            foreach (string word in command.Split(new[] { ' ', '\t', '\n', ';', '&', '|' }, StringSplitOptions.RemoveEmptyEntries))
            {
                if (word.Contains("=") && !word.StartsWith("=", StringComparison.Ordinal)) continue; // VAR=value prefix
                if (ShellWords.Contains(word) || word.Contains("/") || word.Contains("$") || word.Contains("'") || word.Contains("\"")) return null;
                return word;
            }
            return null;
        }

        public static async Task<Findings> CheckAsync(IHostShell shell, string workingDirectory, BuildSpec spec, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string wd = ShellQuote.Quote(workingDirectory);
            string tmp = spec.Environment.TryGetValue("TMPDIR", out var t) ? t : "/tmp";
            string? program = FirstProgram(spec.Command);
            string script =
                $"df -kP {wd} | tail -n 1; df -kP {ShellQuote.Quote(tmp)} 2>/dev/null | tail -n 1; " +
                "echo \"datasize $(ulimit -d) $(ulimit -H -d)\"; " +
                (program == null ? "echo program -" : $"if command -v {ShellQuote.Quote(program)} >/dev/null 2>&1; then echo program yes; else echo program no; fi");
            ShellResult r = await shell.RunAsync(script, cancellationToken).ConfigureAwait(false);
            string[] lines = r.Stdout.Split('\n');
            var findings = new Findings();

            long workFreeKb = AvailableKb(lines.ElementAtOrDefault(0));
            if (workFreeKb >= 0 && workFreeKb * 1024 < spec.MinFreeSpace)
                throw new OpenBsdBuildException("PreflightFreeSpace", FailureKind.LimitsExceeded,
                    $"The working directory {workingDirectory} has {workFreeKb / 1024} MB free, less than the {spec.MinFreeSpace >> 20} MB -MinFreeSpace. Nothing was sent.",
                    workingDirectory, "Build under a roomier mount (-WorkingDirectory), free space in the guest, use a bigger image disk, or lower -MinFreeSpace if the build is small.");

            long tmpFreeKb = AvailableKb(lines.ElementAtOrDefault(1));
            if (tmpFreeKb >= 0 && tmpFreeKb * 1024 < spec.MinFreeSpace && !spec.Environment.ContainsKey("TMPDIR"))
            {
                findings.TmpDir = workingDirectory.TrimEnd('/') + ".tmp"; // beside, not inside: artifacts and listings stay clean
                reporter.Warning($"/tmp has only {tmpFreeKb / 1024} MB free (less than -MinFreeSpace); the build gets TMPDIR={findings.TmpDir} so compilers write their temporary files where there is room.");
            }

            string[] ds = (lines.FirstOrDefault(l => l.StartsWith("datasize ", StringComparison.Ordinal)) ?? "").Split(' ');
            long soft = ds.Length > 1 ? Limit(ds[1]) : -1, hard = ds.Length > 2 ? Limit(ds[2]) : -1;
            if (soft >= 0 && (hard < 0 || hard > soft)) findings.RaiseDataSize = true; // allowed: lift the soft limit up to the hard one
            long effective = findings.RaiseDataSize ? hard : soft;
            if (effective >= 0 && effective < RecommendedDataSizeKb)
                reporter.Warning($"The build user's data-size limit (ulimit -d) is {effective / 1024} MB and cannot be raised further; big compiles and links may fail with 'out of memory'. " +
                                 "On OpenBSD give the build user a login class with datasize=infinity (New-OpenBsdImage's images use 'openbsdbuild') or raise datasize in /etc/login.conf.");

            if (lines.Any(l => l.Trim() == "program no"))
                throw new OpenBsdBuildException("PreflightCommandNotFound", FailureKind.ObjectNotFound,
                    $"'{program}' is not installed in guest (not on the build user's PATH). Nothing was sent.", program,
                    $"Install it in the image (OpenBSD: pkg_add {program}) or call it by its full path.");
            return findings;
        }

        /// <summary>The "Available" column (KB) of one `df -kP` line, or -1 when unknown.</summary>
        private static long AvailableKb(string? dfLine)
        {
            string[] f = (dfLine ?? "").Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            return f.Length >= 6 && long.TryParse(f[3], out long kb) ? kb : -1;
        }

        /// <summary>A ulimit value in KB; -1 for "unlimited".</summary>
        private static long Limit(string value) => long.TryParse(value, out long kb) ? kb : -1;
    }
}
