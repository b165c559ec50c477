using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Module
{
    /// <summary>
    /// Windows PowerShell 5.1 runs on .NET Framework 4.7.2+. The build compiles the module's sources for
    /// net472 too (an API it lacks fails the build); this checks what actually ships: every assembly that
    /// any dll in the module folder references is either in the folder (same or newer version) or part of
    /// .NET Framework 4.7.2, so nothing is missing when 5.1 loads it.
    /// </summary>
    public sealed class DesktopCompatibilityTests
    {
        // Provided by the PowerShell host itself, not by the framework.
        private static readonly HashSet<string> HostAssemblies = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "System.Management.Automation" };

        // Referenced only by code that runs on PowerShell 7 (ModuleInitializer checks the runtime before
        // the method that touches AssemblyLoadContext is compiled), so 5.1 never loads it.
        private static readonly HashSet<string> CoreOnlyReferences = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "OpenBsdBuild.dll -> System.Runtime.Loader" };

        [Fact]
        public void Every_reference_in_the_module_folder_resolves_on_NET_Framework_472()
        {
            string framework = typeof(DesktopCompatibilityTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .Single(a => a.Key == "Net472ReferenceAssemblies").Value!;
            var available = Versions(Directory.GetFiles(framework, "*.dll").Concat(Directory.GetFiles(Path.Combine(framework, "Facades"), "*.dll")));
            Assert.Contains("mscorlib", available.Keys);
            var shipped = Directory.GetFiles(Repo.ModuleDirectory, "*.dll", SearchOption.AllDirectories);
            var inModule = Versions(shipped);

            var missing = new List<string>();
            foreach (string file in shipped)
                foreach (var reference in References(file))
                {
                    if (HostAssemblies.Contains(reference.Name!) || CoreOnlyReferences.Contains($"{Path.GetFileName(file)} -> {reference.Name}")) continue;
                    bool found = (inModule.TryGetValue(reference.Name!, out var v) && v >= reference.Version!)
                        || (available.TryGetValue(reference.Name!, out v) && v >= reference.Version!);
                    if (!found) missing.Add($"{Path.GetFileName(file)} -> {reference.Name} {reference.Version}");
                }
            Assert.True(missing.Count == 0, "Not available on .NET Framework 4.7.2:\n" + string.Join("\n", missing.Distinct()));
        }

        private static Dictionary<string, Version> Versions(IEnumerable<string> files)
        {
            var result = new Dictionary<string, Version>(StringComparer.OrdinalIgnoreCase);
            foreach (string file in files)
            {
                using var pe = new PEReader(File.OpenRead(file));
                if (!pe.HasMetadata) continue;
                var md = pe.GetMetadataReader();
                if (!md.IsAssembly) continue;
                var def = md.GetAssemblyDefinition();
                string name = md.GetString(def.Name);
                if (!result.TryGetValue(name, out var known) || known < def.Version) result[name] = def.Version;
            }
            return result;
        }

        private static IEnumerable<AssemblyName> References(string file)
        {
            using var pe = new PEReader(File.OpenRead(file));
            var md = pe.GetMetadataReader();
            return md.AssemblyReferences.Select(h => md.GetAssemblyReference(h))
                .Select(r => new AssemblyName(md.GetString(r.Name)) { Version = r.Version }).ToList();
        }
    }
}
