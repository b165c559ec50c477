using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Module
{
    /// <summary>
    /// The module's views against real objects. Tables are rendered by PowerShell's own formatter
    /// (Out-Default to a host); the hosted engine has no Format-List, so each list view's items are
    /// evaluated in the runspace the way the formatter does ($_ is the object).
    /// </summary>
    [Collection(SharedGuestCollection.Name)]
    public sealed class FormatTests : IDisposable
    {
        private readonly SharedGuest _shared;
        private readonly TestPsHost _host = new TestPsHost();
        private readonly PsSession _ps;
        private readonly string _out = Directory.CreateTempSubdirectory("obb-format-").FullName;

        public FormatTests(SharedGuest shared)
        {
            _shared = shared;
            _ps = shared.NewSession(_host);
        }

        /// <summary>Label → text of every item of the list view named <paramref name="view"/>, for the object in $variable.</summary>
        private Dictionary<string, string> List(string view, string variable)
        {
            var doc = XDocument.Load(Path.Combine(Repo.ModuleDirectory, "OpenBsdBuild.format.ps1xml"));
            var items = doc.Descendants("View").Single(v => (string?)v.Element("Name") == view).Descendants("ListItem");
            var shown = new Dictionary<string, string>();
            foreach (var item in items)
            {
                string? property = (string?)item.Element("PropertyName");
                string label = (string?)item.Element("Label") ?? property!;
                string script = property != null ? "$_." + property : (string)item.Element("ScriptBlock")!;
                var r = _ps.Run($"${variable} | ForEach-Object {{ {script} }}");
                Assert.False(r.HadErrors, $"{view}.{label}: " + r.Describe());
                shown[label] = string.Join("\n", r.Output.Where(o => o != null).Select(o => o.ToString()));
            }
            return shown;
        }

        [Fact]
        public void Hosts_guests_builds_and_artifacts_show_what_matters()
        {
            var build = _ps.Run($"$r = $guest | Invoke-GuestBuild -Command 'printf hello > a.txt' -Artifact a.txt -Destination '{_out}' -Verbose; $r; $a = $r.Artifacts[0]");
            Assert.False(build.HadErrors, build.Describe());
            // The transfer shows with -Verbose, like every other external action.
            Assert.Contains(build.Verbose, v => v.Message.StartsWith(_shared.Guest.User + "@shared: get ") && v.Message.EndsWith(Path.Combine(_out, "a.txt.partial")));
            var artifact = Assert.Single(build.Single<GuestBuildResult>().Artifacts);

            var host = List("MetalHostList", "h");
            Assert.StartsWith(_shared.Host.Capabilities.Architecture + " ", host["Machine"]);
            Assert.True(TimeSpan.TryParse(host["Age"], out var age) && age > TimeSpan.Zero, host["Age"]);

            var guest = List("OpenBsdGuestList", "guest");
            Assert.Equal($"{_shared.Guest.User}@127.0.0.1:{_shared.Guest.SshPort} on the host", guest["Ssh"]);
            Assert.Equal(_shared.Host.Name, guest["Host"]);
            Assert.Contains($"{_shared.Guest.CpuCount} CPU, {_shared.Guest.MemoryMB} MB", guest["Machine"]);

            var result = List("GuestBuildResultList", "r");
            Assert.Equal($"a.txt (5 bytes, {artifact.Sha256.Substring(0, 12)})", result["Artifacts"]);
            Assert.Equal("0", result["ExitCode"]);
            Assert.Equal(artifact.Sha256, List("BuildArtifactList", "a")["Sha256"]);

            // The table view, rendered: one row for the guest, with its state.
            var table = _ps.Run("$guest | Out-Default");
            Assert.False(table.HadErrors, table.Describe());
            Assert.Contains(_host.Text.Split('\n'), l => l.StartsWith(_shared.Guest.Name, StringComparison.Ordinal) && l.Contains(_shared.Guest.State.ToString()));
        }

        public void Dispose()
        {
            _ps.Dispose();
            Directory.Delete(_out, true);
        }
    }
}
