using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Text.RegularExpressions;
using Xunit;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Module
{
    /// <summary>The manifest is ready for the PowerShell Gallery and exports exactly the cmdlets the assembly has.</summary>
    public sealed class ManifestTests : IDisposable
    {
        private readonly PsSession _ps = new PsSession();

        /// <summary>The laid-out manifest, read as Import-PowerShellDataFile does (a data-only hashtable).</summary>
        private static Hashtable Manifest()
        {
            var ast = Parser.ParseFile(Repo.ModuleManifest, out _, out ParseError[] errors);
            Assert.Empty(errors);
            var table = (HashtableAst)ast.Find(a => a is HashtableAst, false);
            return (Hashtable)table.SafeGetValue();
        }

        [Fact]
        public void Test_ModuleManifest_accepts_the_laid_out_module()
        {
            var result = _ps.Run($"Test-ModuleManifest '{Repo.ModuleManifest}'");
            Assert.False(result.HadErrors, result.Describe());
            var module = (PSModuleInfo)result.Output.Single().BaseObject;
            Assert.Equal("OpenBsdBuild", module.Name);
        }

        [Fact]
        public void Has_what_the_gallery_shows_and_needs()
        {
            var m = Manifest();
            string props = File.ReadAllText(Path.Combine(Repo.Root, "Directory.Build.props"));
            string version = Regex.Match(props, "<Version>([^<]+)</Version>").Groups[1].Value;
            Assert.Equal(version, m["ModuleVersion"]);
            Assert.True(Guid.TryParse((string)m["GUID"]!, out _));
            Assert.Equal("OpenBsdBuild.dll", m["RootModule"]);
            Assert.Equal("5.1", m["PowerShellVersion"]);
            Assert.Equal(new[] { "Core", "Desktop" }, ((object[])m["CompatiblePSEditions"]!).Cast<string>().OrderBy(e => e));
            foreach (string key in new[] { "Author", "CompanyName", "Copyright", "Description" })
                Assert.False(string.IsNullOrWhiteSpace(m[key] as string), key);

            var psData = (Hashtable)((Hashtable)m["PrivateData"]!)["PSData"]!;
            Assert.NotEmpty((object[])psData["Tags"]!);
            Assert.All(((object[])psData["Tags"]!).Cast<string>(), t => Assert.DoesNotContain(" ", t));
            foreach (string key in new[] { "LicenseUri", "ProjectUri" })
                Assert.True(Uri.TryCreate(psData[key] as string, UriKind.Absolute, out var uri) && uri.Scheme == "https", key);
            Assert.False(string.IsNullOrWhiteSpace(psData["ReleaseNotes"] as string));

            // Explicit exports: no wildcards, so PowerShell's command discovery need not load the module.
            foreach (string key in new[] { "CmdletsToExport", "FunctionsToExport", "VariablesToExport", "AliasesToExport" })
                Assert.DoesNotContain("*", ((object[])m[key]!).Cast<string>());
            foreach (string format in ((object[])m["FormatsToProcess"]!).Cast<string>())
                Assert.True(File.Exists(Path.Combine(Repo.ModuleDirectory, format)), format);
            Assert.True(File.Exists(Path.Combine(Repo.ModuleDirectory, "en-US", "OpenBsdBuild.dll-Help.xml")), "compiled help");
        }

        [Fact]
        public void Exports_match_the_cmdlet_classes_in_the_assembly()
        {
            var listed = ((object[])Manifest()["CmdletsToExport"]!).Cast<string>().OrderBy(n => n).ToList();
            var result = _ps.Run("(Get-Module OpenBsdBuild).ExportedCmdlets.Values");
            var exported = result.All<CmdletInfo>().ToList();
            var assembly = exported.First().ImplementingType.Assembly;
            var classes = assembly.GetTypes()
                .Select(t => t.GetCustomAttributes(typeof(CmdletAttribute), false).Cast<CmdletAttribute>().FirstOrDefault())
                .Where(a => a != null).Select(a => $"{a!.VerbName}-{a.NounName}").OrderBy(n => n).ToList();
            Assert.Equal(classes, listed);
            Assert.Equal(listed, exported.Select(c => c.Name).OrderBy(n => n));
        }

        [Fact]
        public void Module_folder_ships_no_PowerShell_or_test_assemblies()
        {
            var files = Directory.GetFiles(Repo.ModuleDirectory, "*.dll", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
            Assert.Contains("OpenBsdBuild.dll", files);
            Assert.DoesNotContain(files, f => f!.StartsWith("System.Management.Automation", StringComparison.OrdinalIgnoreCase)
                || f.Contains("Tests", StringComparison.OrdinalIgnoreCase) || f.Contains("xunit", StringComparison.OrdinalIgnoreCase)
                || f.Contains("HelpCompiler", StringComparison.OrdinalIgnoreCase));
        }

        [Theory]
        [InlineData("build.ps1")]
        [InlineData("tests/Pester/OpenBsdBuild.Tests.ps1")]
        [InlineData("tests/RealInstall/Test-RealInstall.ps1")]
        [InlineData("OpenBsdBuild.psd1")]
        public void Scripts_users_run_parse_without_errors(string file)
        {
            Parser.ParseFile(Path.Combine(Repo.Root, file), out _, out ParseError[] errors);
            Assert.True(errors.Length == 0, string.Join("\n", errors.Select(e => $"{e.Extent.StartLineNumber}: {e.Message}")));
        }

        public void Dispose() => _ps.Dispose();
    }
}
