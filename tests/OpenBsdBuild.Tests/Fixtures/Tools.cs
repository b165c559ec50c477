using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>Runs helper commands for fixtures, and insists that the tools they need exist (never a silent skip).</summary>
    public static class Tools
    {
        public static void Require(params string[] commands)
        {
            var missing = commands.Where(c => Which(c) == null).ToList();
            if (missing.Count > 0)
                throw new InvalidOperationException(
                    $"Missing tools for this test: {string.Join(", ", missing)}. Run `bash .ci/run` (it installs them) or install them with apt-get.");
        }

        public static string? Which(string command)
        {
            if (command.Contains('/')) return File.Exists(command) ? command : null;
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(new[] { "/usr/sbin", "/sbin" }))
            {
                string p = Path.Combine(dir, command);
                if (File.Exists(p)) return p;
            }
            return null;
        }

        /// <summary>Runs a shell command; throws with its output when it fails (unless allowed to).</summary>
        public static string Sh(string script, bool allowFailure = false, int timeoutMs = 600_000)
        {
            var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(script);
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(timeoutMs))
            {
                p.Kill(true);
                throw new TimeoutException($"Timed out: {script}");
            }
            if (p.ExitCode != 0 && !allowFailure)
                throw new InvalidOperationException($"`{script}` failed with {p.ExitCode}:\n{stdout}\n{stderr.Result}");
            return stdout;
        }

        /// <summary>QEMU processes whose command line mentions <paramref name="marker"/> (e.g. a state directory).</summary>
        public static int[] QemuProcesses(string marker) =>
            Directory.GetDirectories("/proc").Select(d => Path.GetFileName(d))
                .Where(n => n.All(char.IsDigit))
                .Select(int.Parse).Where(pid => IsQemu(pid, marker)).ToArray();

        /// <summary>
        /// Whether <paramref name="pid"/> is still a QEMU whose command line holds <paramref name="marker"/>. This machine's
        /// pid_max is 32768, so under load a pid read from a pidfile after its QEMU exited can be another process's by then;
        /// a kill by that pid alone can end another test's guest (a CI run beside another lost an unmarked QEMU of
        /// LeftoverTests while a test killing a stale pidfile's pid ended).
        /// </summary>
        public static bool IsQemu(int pid, string marker)
        {
            string cmd = ReadCmdline(pid.ToString());
            return cmd.Contains("qemu-system") && cmd.Contains(marker);
        }

        /// <summary>Kills <paramref name="pid"/> if it is still that QEMU (<see cref="IsQemu"/>).</summary>
        public static void KillQemu(int pid, string marker)
        {
            if (IsQemu(pid, marker)) Sh($"kill -9 {pid}", allowFailure: true);
        }

        private static string ReadCmdline(string pid)
        {
            try { return Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{pid}/cmdline")).Replace('\0', ' '); }
            catch (IOException) { return ""; }
            catch (UnauthorizedAccessException) { return ""; }
        }
    }
}
