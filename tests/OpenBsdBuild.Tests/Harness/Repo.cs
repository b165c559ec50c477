using System;
using System.IO;
using System.Linq;
using System.Reflection;

namespace OpenBsdBuild.Tests.Harness
{
    /// <summary>Where things are in the repository and on this machine.</summary>
    public static class Repo
    {
        public static string Root { get; } = FindRoot();
        public static string ModuleDirectory => Path.Combine(Root, "out", "OpenBsdBuild");
        public static string ModuleManifest => Path.Combine(ModuleDirectory, "OpenBsdBuild.psd1");
        public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

        private static string FindRoot()
        {
            string? fromBuild = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "RepoRoot")?.Value;
            if (fromBuild != null && File.Exists(Path.Combine(fromBuild, "OpenBsdBuild.sln"))) return Path.GetFullPath(fromBuild);
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "OpenBsdBuild.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Cannot find the repository root (OpenBsdBuild.sln).");
        }
    }
}
