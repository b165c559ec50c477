using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Xunit;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Module
{
    /// <summary>Tab completion as the console asks for it (CommandCompletion.CompleteInput), in a real runspace.</summary>
    [Collection(SharedGuestCollection.Name)]
    public sealed class CompletionTests : IDisposable
    {
        private readonly SharedGuest _shared;
        private readonly PsSession _ps;

        public CompletionTests(SharedGuest shared)
        {
            _shared = shared;
            _ps = shared.NewSession();
        }

        private List<string> Complete(string line)
        {
            _ps.Set("line", line);
            var r = _ps.Run("[System.Management.Automation.CommandCompletion]::CompleteInput($line, $line.Length, $null).CompletionMatches.CompletionText");
            Assert.False(r.HadErrors, r.Describe());
            return r.Output.Where(o => o != null).Select(o => o.ToString()).ToList();
        }

        [Fact]
        public void Regions_complete_on_every_AWS_cmdlet()
        {
            var matches = Complete("New-MetalHost -Region eu-west-");
            Assert.Contains("eu-west-1", matches);
            Assert.All(matches, m => Assert.StartsWith("eu-west-", m));
            Assert.Contains("us-east-1", Complete("Get-OpenBsdImage s3://b/p/ -Region us-e"));
        }

        [Fact]
        public void Instance_types_complete_for_the_chosen_architecture()
        {
            Assert.Equal(LaunchPlan.MetalTypes["amd64"], Complete("New-MetalHost -Architecture amd64 -InstanceType "));
            Assert.Equal(new[] { "c7g.metal" }, Complete("Invoke-OpenBsdBuild -InstanceType c7"));
        }

        [Fact]
        public void Guest_names_complete_from_the_guests_running_on_attached_hosts()
        {
            Assert.Contains(_shared.Guest.Name, Complete("Get-OpenBsdGuest -Name sh"));
            Assert.Empty(Complete("Get-OpenBsdGuest -Name no-such-guest"));
        }

        /// <summary>
        /// The completer reads other sessions' guests from the host's disk within a prompt's patience, which a loaded
        /// machine can exhaust (load ~75 did). The guests this session started must complete anyway. A read that never
        /// ends stands in for the slow one: a guest directory whose qemu.pid is a FIFO, which the listing's cat waits on.
        /// </summary>
        [Fact]
        public void Guest_names_this_session_started_complete_even_when_the_host_listing_does_not_finish()
        {
            string stalled = Path.Combine(_shared.StateDirectory, "guests", "stalled");
            Directory.CreateDirectory(stalled);
            try
            {
                File.WriteAllText(Path.Combine(stalled, "guest.json"), "{\"name\":\"stalled\"}\n");
                Tools.Sh($"mkfifo '{Path.Combine(stalled, "qemu.pid")}'");
                Assert.Contains(_shared.Guest.Name, Complete("Get-OpenBsdGuest -Name sh"));
            }
            finally
            {
                Directory.Delete(stalled, true);
            }
        }

        [Fact]
        public void Image_versions_complete_from_the_folder_being_listed()
        {
            string folder = Directory.CreateTempSubdirectory("obb-complete-").FullName;
            try
            {
                foreach (var (version, day) in new[] { ("7.7", 1), ("7.8", 2) })
                {
                    string image = Path.Combine(folder, $"openbsd-{version}-arm64.qcow2");
                    File.WriteAllBytes(image, new byte[4096]);
                    var metadata = TestImages.Metadata(version, "arm64", new DateTime(2025, 9, day, 0, 0, 0, DateTimeKind.Utc));
                    metadata.Size = 4096;
                    metadata.Sha256 = TestImages.Sha256Of(image);
                    File.WriteAllText(image + ImageMetadata.SidecarSuffix, metadata.ToJson());
                }
                Assert.Equal(new[] { "7.8", "7.7" }, Complete($"Get-OpenBsdImage -Location '{folder}' -Version "));
                Assert.Equal(new[] { "7.7" }, Complete($"Get-OpenBsdImage '{folder}' -Version 7.7"));
            }
            finally
            {
                Directory.Delete(folder, true);
            }
        }

        public void Dispose() => _ps.Dispose();
    }
}
