using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace OpenBsdBuild.Builds
{
    /// <summary>Causes read from the output, in the order they are trusted (lower wins).</summary>
    public enum FailureCause { None, DiskFull, MemoryLimit, CommandNotFound }

    /// <summary>
    /// Reads a failed build's output for the boring causes first. A full /tmp makes compilers
    /// fail with messages that look like compiler bugs; a 1536M data-size limit (OpenBSD/arm64's default
    /// login class, docs/openbsd-notes.md) makes them die "out of memory" on a machine with plenty of it.
    /// </summary>
    public sealed class FailureDiagnosis
    {
        private static readonly Regex DiskFull = new Regex(
            @"No space left on device|file system is full|[Dd]isk quota exceeded|ENOSPC|write error|not enough space on the disk|Cannot write:",
            RegexOptions.Compiled);
        private static readonly Regex Memory = new Regex(
            @"Cannot allocate memory|[Oo]ut of memory|memory allocation of \d+ bytes failed|std::bad_alloc|ENOMEM|virtual memory exhausted|Killed: 9",
            RegexOptions.Compiled);
        private static readonly Regex NotFound = new Regex(
            @"(?:command not found|: not found|No such file or directory)\s*$", RegexOptions.Compiled);

        private readonly List<string> _evidence = new List<string>();
        public FailureCause Cause { get; private set; }

        /// <summary>Feeds one output line; remembers the first line that points at a cause.</summary>
        public void Observe(string line)
        {
            FailureCause seen = DiskFull.IsMatch(line) ? FailureCause.DiskFull
                : Memory.IsMatch(line) ? FailureCause.MemoryLimit
                : NotFound.IsMatch(line) && line.IndexOf("sh:", StringComparison.Ordinal) >= 0 ? FailureCause.CommandNotFound
                : FailureCause.None;
            if (seen == FailureCause.None) return;
            // Disk beats memory beats a missing command: the first is the most often misread.
            if (Cause == FailureCause.None || seen < Cause)
            {
                Cause = seen;
                _evidence.Insert(0, line.Trim());
            }
            else if (_evidence.Count < 3) _evidence.Add(line.Trim());
        }

        public string? Evidence => _evidence.FirstOrDefault();

        /// <summary>Exit codes the shell gives a process killed by a signal: 128 + 9 is SIGKILL (often the OOM killer).</summary>
        public static bool KilledBySignal9(int? exitCode) => exitCode == 137;

        /// <summary>Finds a mount that is (nearly) full in `df -kP` output; returns "mount (N% used, X MB free)".</summary>
        public static string? FullMount(string dfOutput)
        {
            foreach (string line in dfOutput.Split('\n').Skip(1))
            {
                string[] f = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 6) continue;
                if (!long.TryParse(f[3], out long availableKb)) continue;
                int percent = int.TryParse(f[4].TrimEnd('%'), out int p) ? p : 0;
                if (percent >= 95 || availableKb < 1024)
                    return $"{f[5]} ({percent}% used, {availableKb / 1024} MB free of {long.Parse(f[1]) / 1024} MB)";
            }
            return null;
        }
    }
}
