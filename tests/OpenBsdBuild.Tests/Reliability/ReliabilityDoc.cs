using System;
using System.IO;
using System.Linq;
using Xunit;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// docs/reliability.md is made from these tests. Each scenario test checks that its row says what
    /// the test saw (the error the user gets, nothing left behind); a run with
    /// OBB_RECORD_RELIABILITY=1 also writes the measured clean-up time into the row.
    /// </summary>
    public static class ReliabilityDoc
    {
        public static string PathOnDisk => Path.Combine(Repo.Root, "docs", "reliability.md");
        private static readonly object Gate = new object();

        /// <param name="scenario">The row's first cell, unique in the table.</param>
        /// <param name="userSees">What the user gets: the error id, or the outcome.</param>
        /// <param name="cleanup">How long it took from the fault (or Ctrl+C) until the cmdlet returned with everything removed; null where nothing is timed (the cell says so).</param>
        /// <param name="untimed">The cell when <paramref name="cleanup"/> is null.</param>
        public static void Row(string scenario, string userSees, TimeSpan? cleanup, string untimed = "– (the failed launch removes the host)")
        {
            lock (Gate)
            {
                var lines = File.ReadAllLines(PathOnDisk).ToList();
                int index = lines.FindIndex(l => Cells(l).FirstOrDefault() == scenario);
                Assert.True(index >= 0, $"docs/reliability.md has no row for '{scenario}'; add: | {scenario} | {userSees} | nothing | {Seconds(cleanup, untimed)} |");
                var cells = Cells(lines[index]);
                Assert.True(cells.Length == 4, $"the row for '{scenario}' needs 4 cells: {lines[index]}");
                Assert.Equal(userSees, cells[1]);
                Assert.Equal("nothing", cells[2]);
                if (Environment.GetEnvironmentVariable("OBB_RECORD_RELIABILITY") == "1")
                {
                    lines[index] = $"| {scenario} | {userSees} | nothing | {Seconds(cleanup, untimed)} |";
                    File.WriteAllText(PathOnDisk, string.Join("\n", lines) + "\n");
                }
            }
        }

        private static string Seconds(TimeSpan? t, string untimed) =>
            t == null ? untimed : t.Value.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s";

        private static string[] Cells(string line) =>
            line.StartsWith("| ", StringComparison.Ordinal) ? line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray() : Array.Empty<string>();
    }
}
