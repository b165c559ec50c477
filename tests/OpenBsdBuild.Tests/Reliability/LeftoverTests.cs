using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Xunit;
using OpenBsdBuild.Tests.Fixtures;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// What a killed test process leaves (Fixtures/Leftovers.cs): a daemonized QEMU and a namespace whose processes carry
    /// its mark are ended by the next test process; those of a live test process, or without a mark, are not. Real QEMU
    /// (no machine, so nothing boots) and real namespaces; stand-in test processes are `sleep`s.
    /// </summary>
    public sealed class LeftoverTests
    {
        private static Process Sleeper() => Process.Start(new ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;

        /// <summary>A QEMU that idles with no machine, daemonized as the module's guests are, marked <paramref name="mark"/> (or not at all).</summary>
        private static int Qemu(string? mark, string pidFile)
        {
            Tools.Sh($"{(mark == null ? $"env -u {Leftovers.Variable}" : $"env {Leftovers.Variable}='{mark}'")} qemu-system-aarch64 -machine none -display none -monitor none -serial none -daemonize -pidfile '{pidFile}'");
            return int.Parse(File.ReadAllText(pidFile).Trim());
        }

        /// <summary>A test namespace with one process in it that carries <paramref name="mark"/>, as a namespace's sshd does.</summary>
        private static void Namespace(string name, string mark) =>
            Tools.Sh($"ip netns add {name} && ip netns exec {name} env {Leftovers.Variable}='{mark}' setsid sleep 600 >/dev/null 2>&1 < /dev/null &");

        private static bool Runs(int pid) => File.Exists($"/proc/{pid}/stat") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ");
        private static bool NamespaceExists(string name) => Tools.Sh("ip netns list").Split('\n').Any(l => l.Split(' ')[0] == name);

        [Fact]
        public void Guests_and_namespaces_of_a_test_process_that_is_gone_are_ended_and_no_others()
        {
            string dir = Directory.CreateTempSubdirectory("obb-leftovers-").FullName;
            int me = Environment.ProcessId % 100000;
            string orphanNs = $"obbtest{me}n9001", keptNs = $"obbtest{me}n9002";
            using var gone = Sleeper();
            using var live = Sleeper();
            int orphan = 0, kept = 0, unmarked = 0;
            try
            {
                string goneMark = Leftovers.MarkOf(gone.Id), liveMark = Leftovers.MarkOf(live.Id);
                orphan = Qemu(goneMark, Path.Combine(dir, "orphan.pid"));
                kept = Qemu(liveMark, Path.Combine(dir, "kept.pid"));
                unmarked = Qemu(null, Path.Combine(dir, "unmarked.pid"));
                Namespace(orphanNs, goneMark);
                Namespace(keptNs, liveMark);
                while (Tools.Sh($"ip netns pids {orphanNs}; ip netns pids {keptNs}").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length < 2) Thread.Sleep(50);
                gone.Kill();
                gone.WaitForExit();

                Leftovers.EndOrphans();

                Assert.False(NamespaceExists(orphanNs), "the namespace of the process that is gone is still there");
                while (Runs(orphan)) Thread.Sleep(50); // kill -9 was sent with the namespace's end; it is gone once init has reaped it
                Assert.True(Runs(kept), "the QEMU of a live test process was ended");
                Assert.True(NamespaceExists(keptNs), "the namespace of a live test process was deleted");
                Assert.True(Runs(unmarked), "a QEMU without a mark was ended");
            }
            finally
            {
                foreach (var (pid, name) in new[] { (orphan, "orphan"), (kept, "kept"), (unmarked, "unmarked") }.Where(q => q.Item1 > 0))
                    Tools.KillQemu(pid, Path.Combine(dir, name + ".pid")); // the orphan's pid may be another process's by now
                foreach (string ns in new[] { orphanNs, keptNs })
                    Tools.Sh($"kill -9 $(ip netns pids {ns} 2>/dev/null) 2>/dev/null; ip netns del {ns} 2>/dev/null", allowFailure: true);
                if (!live.HasExited) live.Kill();
                Directory.Delete(dir, true);
            }
        }
    }
}
