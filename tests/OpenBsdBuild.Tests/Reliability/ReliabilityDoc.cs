using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using Xunit;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// docs/reliability.md is made from these tests. Each scenario test checks that its row says what
    /// the test saw (the error the user gets, nothing left behind) and names that test; a run with
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
                string test = $"`{TestMethod()}`";
                Assert.True(index >= 0, $"docs/reliability.md has no row for '{scenario}'; add: | {scenario} | {userSees} | nothing | {Seconds(cleanup, untimed)} | {test} |");
                var cells = Cells(lines[index]);
                Assert.True(cells.Length == 5, $"the row for '{scenario}' needs 5 cells: {lines[index]}");
                Assert.Equal(userSees, cells[1]);
                Assert.Equal("nothing", cells[2]);
                Assert.Equal(test, cells[4]);
                if (Environment.GetEnvironmentVariable("OBB_RECORD_RELIABILITY") == "1")
                {
                    lines[index] = $"| {scenario} | {userSees} | nothing | {Seconds(cleanup, untimed)} | {test} |";
                    File.WriteAllText(PathOnDisk, string.Join("\n", lines) + "\n");
                }
            }
        }

        /// <summary>The test method (Class.Method) that is proving the row: the [Fact] on the call stack.</summary>
        private static string TestMethod()
        {
            foreach (var frame in new StackTrace().GetFrames())
            {
                var method = frame.GetMethod();
                var type = method?.DeclaringType;
                if (method == null || type == null) continue;
                string name = method.Name;
                // An async test runs in its state machine's MoveNext: <Name>d__N, nested in the test class.
                if (name == "MoveNext" && type.Name.StartsWith("<", StringComparison.Ordinal) && type.DeclaringType != null)
                {
                    name = type.Name.Substring(1, type.Name.IndexOf('>') - 1);
                    type = type.DeclaringType;
                }
                var declared = type.GetMethod(name, BindingFlags.Instance | BindingFlags.Public);
                if (declared?.GetCustomAttributes(typeof(FactAttribute), true).Length > 0) return $"{type.Name}.{name}";
            }
            throw new InvalidOperationException("ReliabilityDoc.Row is called from a test method (a [Fact]).");
        }

        private static string Seconds(TimeSpan? t, string untimed) =>
            t == null ? untimed : t.Value.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s";

        private static string[] Cells(string line) =>
            line.StartsWith("| ", StringComparison.Ordinal) ? line.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray() : Array.Empty<string>();
    }
}
