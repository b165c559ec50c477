using System;
using System.Collections;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation.Language;
using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Module
{
    /// <summary>
    /// build.ps1 -Package, run by the PowerShell engine in a copy of the repository, makes a folder
    /// that is what the gallery should get: a valid manifest whose exports are the cmdlet classes,
    /// help, formats and dependencies/, importable on its own in a fresh process.
    /// </summary>
    public sealed class PackageTests : IDisposable
    {
        private readonly ITestOutputHelper _log;
        private readonly string _tree = Directory.CreateTempSubdirectory("obb-package-").FullName;

        public PackageTests(ITestOutputHelper log) => _log = log;

        [Fact]
        public void Build_script_Package_lays_out_an_importable_gallery_folder()
        {
            CopyWorkingTree(_tree);
            using var ps = new PsSession(importModule: false);
            string build = Path.Combine(_tree, "build.ps1");
            string before = (string)ps.Run("$PWD.Path").Output.Single().BaseObject;
            var clock = Stopwatch.StartNew();
            var r = ps.Run($"& '{build}' -Package");
            _log.WriteLine($"build.ps1 -Package took {clock.Elapsed.TotalSeconds:0} s");
            Assert.True(r.Exception == null && r.Errors.Count == 0,
                r.Describe() + "\n" + string.Join("\n", r.Output.Select(o => o.ToString()).TakeLast(40)));
            string package = Path.Combine(_tree, "out", "package", "OpenBsdBuild");
            Assert.Contains($"Publishable module folder: {package} (OpenBsdBuild 0.1.0, Release)", r.HostText);
            Assert.Equal(before, ps.Run("$PWD.Path").Output.Single().BaseObject); // the caller stays where they were
            Assert.False(Directory.Exists(Path.Combine(_tree, "out", "OpenBsdBuild")), "-Package alone leaves the development folder alone");

            // The module folder, and nothing else: the cmdlet layer, the model types, manifest, formats and help on top,
            // the rest in dependencies/.
            Assert.Equal(new[] { "OpenBsdBuild.Model.dll", "OpenBsdBuild.dll", "OpenBsdBuild.format.ps1xml", "OpenBsdBuild.psd1" },
                Directory.GetFiles(package).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(new[] { "dependencies", "en-US" }, Directory.GetDirectories(package).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.True(new FileInfo(Path.Combine(package, "en-US", "OpenBsdBuild.dll-Help.xml")).Length > 10_000, "compiled help");
            var dependencies = Directory.GetFiles(Path.Combine(package, "dependencies")).Select(Path.GetFileName).ToList();
            foreach (string dll in new[] { "OpenBsdBuild.Engine.dll", "Renci.SshNet.dll", "AWSSDK.Core.dll", "AWSSDK.EC2.dll", "AWSSDK.S3.dll", "BouncyCastle.Cryptography.dll" })
                Assert.Contains(dll, dependencies);
            Assert.DoesNotContain(dependencies, f => f!.StartsWith("System.Management.Automation", StringComparison.Ordinal) || !f.EndsWith(".dll", StringComparison.Ordinal));

            // Imported in a process of its own (this one has the module from out/ loaded), it is this folder's Release build and it works.
            string manifest = Path.Combine(package, "OpenBsdBuild.psd1");
            var (status, output) = IsolatedPowerShell.Run(manifest,
                "$m = Get-Module OpenBsdBuild; 'base ' + $m.ModuleBase\n" +
                "'configuration ' + $m.ImplementingAssembly.GetCustomAttributes([System.Reflection.AssemblyConfigurationAttribute], $false)[0].Configuration\n" +
                "foreach ($t in $m.ImplementingAssembly.GetTypes()) { foreach ($a in $t.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)) { 'class ' + $a.VerbName + '-' + $a.NounName } }\n" +
                "foreach ($n in $m.ExportedCmdlets.Keys) { 'exported ' + $n }\n" +
                $"$v = Test-ModuleManifest '{manifest}'; 'manifest ' + $v.Name + ' ' + $v.Version\n" +
                "'synopsis ' + (Get-Help New-MetalHost).Synopsis\n" +
                "$h = Connect-MetalHost -Local; 'host ' + $h.Provider; $h | Remove-MetalHost");
            _log.WriteLine(output);
            Assert.True(status == 0, output);
            Assert.Contains("output base " + package + "\n", output);
            Assert.Contains("output configuration Release\n", output);
            Assert.Contains("output manifest OpenBsdBuild 0.1.0\n", output);
            Assert.Contains("output host Local\n", output);
            Assert.Contains("output synopsis " + Synopsis(Path.Combine(_tree, "docs", "New-MetalHost.md")) + "\n", output);

            var listed = ((object[])Manifest(manifest)["CmdletsToExport"]!).Cast<string>().OrderBy(n => n, StringComparer.Ordinal).ToList();
            Assert.Equal(18, listed.Count);
            Assert.Equal(listed, Lines(output, "output class "));
            Assert.Equal(listed, Lines(output, "output exported "));

            // -Clean takes back everything the build made.
            var cleaned = ps.Run($"& '{build}' -Clean");
            Assert.False(cleaned.HadErrors, cleaned.Describe());
            Assert.False(Directory.Exists(Path.Combine(_tree, "out")));
            Assert.Empty(Directory.GetDirectories(_tree, "bin", SearchOption.AllDirectories).Concat(Directory.GetDirectories(_tree, "obj", SearchOption.AllDirectories)));
        }

        /// <summary>
        /// The files git would commit from the working tree as it is now (tracked and new, not ignored):
        /// a clone would miss uncommitted edits to build.ps1, and nothing built (out/, bin/, obj/) comes along,
        /// so the build starts fresh and the suite's own out/ is never touched.
        /// </summary>
        private static void CopyWorkingTree(string destination)
        {
            string listing = Tools.Sh($"cd '{Repo.Root}' && git ls-files -z --cached --others --exclude-standard");
            foreach (string file in listing.Split('\0', StringSplitOptions.RemoveEmptyEntries))
            {
                string source = Path.Combine(Repo.Root, file);
                if (!File.Exists(source)) continue; // deleted, not yet committed
                string target = Path.Combine(destination, file);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(source, target);
            }
        }

        private static Hashtable Manifest(string path)
        {
            var ast = Parser.ParseFile(path, out _, out ParseError[] errors);
            Assert.Empty(errors);
            return (Hashtable)((HashtableAst)ast.Find(a => a is HashtableAst, false)).SafeGetValue();
        }

        private static string Synopsis(string markdown) =>
            Regex.Match(File.ReadAllText(markdown), @"## SYNOPSIS\s*\n\s*(.+?)\s*\n").Groups[1].Value;

        private static string[] Lines(string output, string prefix) =>
            output.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).Select(l => l.Substring(prefix.Length))
                .OrderBy(n => n, StringComparer.Ordinal).ToArray();

        public void Dispose() => Directory.Delete(_tree, true);
    }
}
