using System;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using System.Threading.Tasks;

namespace OpenBsdBuild.Tests.Harness
{
    /// <summary>
    /// PowerShell in a process of its own (tests/OpenBsdBuild.IsolationHost): nothing of ours is loaded
    /// there before Import-Module, unlike in this test process, which references the engine and has the
    /// module from out/ loaded.
    /// </summary>
    public static class IsolatedPowerShell
    {
        /// <summary>Imports <paramref name="manifest"/>, runs <paramref name="script"/>; "output ..." and "error ..." lines come back.</summary>
        public static (int Status, string Output) Run(string manifest, string script)
        {
            string configuration = typeof(IsolatedPowerShell).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;
            string host = Path.Combine(Repo.Root, "tests", "OpenBsdBuild.IsolationHost", "bin", configuration, "net10.0", "OpenBsdBuild.IsolationHost.dll");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string arg in new[] { host, manifest, script }) start.ArgumentList.Add(arg);
            using var process = Process.Start(start)!;
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(true);
                throw new TimeoutException("The isolation host did not finish in 2 minutes:\n" + stdout);
            }
            return (process.ExitCode, stdout + stderr.Result);
        }
    }
}
