using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>
    /// QEMU guests and network namespaces that outlive the test process that made them: QEMU daemonizes and a namespace's
    /// sshd is a daemon, so a test process killed mid-run (the hang guard, a kill by hand) leaves them running. Every
    /// process a test starts inherits <see cref="Variable"/>, naming its test process (pid and start time); a guest that a
    /// namespace's sshd started is known by that sshd's mark. A test process ends, as it starts, what test processes that
    /// are gone left, and at its exit what it left itself, saying so on stderr. Nothing without the mark is touched: guests
    /// of other suites, benchmarks or people are not the tests' to end.
    /// </summary>
    internal static class Leftovers
    {
        public const string Variable = "OBB_TEST_OWNER";

        private static readonly Regex TestNamespace = new Regex(@"^obbtest\d+n\d+$");

        /// <summary>A test process: its pid and start time (clock ticks since boot), so a reused pid is not taken for it.</summary>
        private readonly record struct Owner(int Pid, long Start)
        {
            public bool Alive => StartTime(Pid) == Start;
            public override string ToString() => $"{Pid} {Start}";
            public static Owner? Parse(string? mark)
            {
                string[] f = (mark ?? "").Split(' ');
                return f.Length == 2 && int.TryParse(f[0], out int pid) && long.TryParse(f[1], out long start) ? new Owner(pid, start) : null;
            }
        }

        private static readonly Owner Me = new Owner(Environment.ProcessId, StartTime(Environment.ProcessId) ?? 0);

        [ModuleInitializer]
        internal static void MarkAndReap()
        {
            if (!OperatingSystem.IsLinux()) return;
            Environment.SetEnvironmentVariable(Variable, Me.ToString());
            EndOrphans();
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Reap(o => o == Me, "LEFT BEHIND by this test run (a fixture did not clean up)");
        }

        /// <summary>Ends the guests and test namespaces of test processes that are gone.</summary>
        internal static void EndOrphans() => Reap(o => !o.Alive, null);

        /// <summary>The mark of process <paramref name="pid"/>, as a test process sets it in <see cref="Variable"/>.</summary>
        internal static string MarkOf(int pid) => new Owner(pid, StartTime(pid) ?? 0).ToString();

        /// <summary>Ends the guests and test namespaces whose owner <paramref name="ends"/> says; <paramref name="say"/> names them on stderr.</summary>
        private static void Reap(Func<Owner, bool> ends, string? say)
        {
            try
            {
                var processes = Processes();
                var marked = processes.Where(p => p.Owner != null && p.Net != null).GroupBy(p => p.Net!).ToDictionary(g => g.Key, g => g.First().Owner);
                foreach (var q in processes.Where(p => p.Command.Contains("qemu-system")))
                {
                    // A guest launched through a namespace's sshd has no mark of its own: the namespace's marked processes say whose it is.
                    Owner? owner = q.Owner ?? (q.Net != null && q.Net != InitialNet && marked.TryGetValue(q.Net, out var o) ? o : null);
                    if (owner is { } known && ends(known)) End($"QEMU {q.Pid} ({Shorten(q.Command)}) of test process {known}", $"kill -9 {q.Pid}", say);
                }
                foreach (string ns in Tools.Sh("ip netns list 2>/dev/null", allowFailure: true).Split('\n').Select(l => l.Split(' ')[0].Trim()))
                {
                    if (!TestNamespace.IsMatch(ns)) continue;
                    var inside = Tools.Sh($"ip netns pids {ns} 2>/dev/null", allowFailure: true).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToList();
                    // An empty one is left alone: it runs nothing, and it may be one a live test process is still setting up.
                    var owners = processes.Where(p => inside.Contains(p.Pid) && p.Owner != null).Select(p => p.Owner!.Value).Distinct().ToList();
                    if (owners.Count > 0 && owners.All(ends))
                        End($"network namespace {ns} of test process {string.Join(", ", owners)}",
                            (inside.Count > 0 ? $"kill -9 {string.Join(" ", inside)}; " : "") + $"ip netns del {ns}", say);
                }
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                Console.Error.WriteLine($"Leftovers: could not look for leftover guests: {ex.Message}");
            }
        }

        private static void End(string what, string command, string? say)
        {
            if (say != null) Console.Error.WriteLine($"{say}: {what}; ending it.");
            Tools.Sh(command, allowFailure: true);
        }

        private sealed record Process(int Pid, string Command, Owner? Owner, string? Net);

        private static readonly string? InitialNet = NetOf("1");

        private static List<Process> Processes()
        {
            var found = new List<Process>();
            foreach (string dir in Directory.GetDirectories("/proc"))
            {
                string pid = Path.GetFileName(dir);
                if (!pid.All(char.IsDigit)) continue;
                string? command = Read($"/proc/{pid}/cmdline");
                if (command == null) continue;
                string? mark = Read($"/proc/{pid}/environ")?.Split('\0').FirstOrDefault(v => v.StartsWith(Variable + "=", StringComparison.Ordinal))?.Substring(Variable.Length + 1);
                found.Add(new Process(int.Parse(pid), command.Replace('\0', ' '), Owner.Parse(mark), NetOf(pid)));
            }
            return found;
        }

        private static string? NetOf(string pid)
        {
            try { return new FileInfo($"/proc/{pid}/ns/net").LinkTarget; }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }

        private static long? StartTime(int pid)
        {
            string? stat = Read($"/proc/{pid}/stat");
            if (stat == null) return null;
            // Field 22, counted after the command name, which may itself hold spaces and parentheses.
            string[] after = stat.Substring(stat.LastIndexOf(')') + 2).Split(' ');
            return after.Length > 19 && long.TryParse(after[19], out long start) ? start : null;
        }

        private static string? Read(string path)
        {
            try { return Encoding.UTF8.GetString(File.ReadAllBytes(path)); }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }

        private static string Shorten(string command) => command.Length <= 120 ? command : command.Substring(0, 120) + "...";
    }
}
