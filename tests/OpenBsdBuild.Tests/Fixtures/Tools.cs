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
                .Select(n => (pid: int.Parse(n), cmd: ReadCmdline(n)))
                .Where(p => p.cmd.Contains("qemu-system") && p.cmd.Contains(marker))
                .Select(p => p.pid).ToArray();

        private static string ReadCmdline(string pid)
        {
            try { return Encoding.UTF8.GetString(File.ReadAllBytes($"/proc/{pid}/cmdline")).Replace('\0', ' '); }
            catch (IOException) { return ""; }
            catch (UnauthorizedAccessException) { return ""; }
        }
    }
}
