using System;
using System.IO;
using System.Linq;
using Xunit;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.EndToEnd
{
    /// <summary>
    /// The product's main pipeline, for real: a QEMU arm64 guest booted with the module's flags,
    /// a build in it, artifacts fetched and compared byte for byte, everything torn down.
    /// </summary>
    public class PipelineTests : IDisposable
    {
        private readonly string _work = Directory.CreateTempSubdirectory("obb-e2e-").FullName;

        private (string source, byte[] input, string expectedUpper) MakeSources()
        {
            string src = Path.Combine(_work, "src");
            Directory.CreateDirectory(src);
            var input = new byte[300_000];
            new Random(42).NextBytes(input);
            File.WriteAllBytes(Path.Combine(src, "input.bin"), input);
            File.WriteAllText(Path.Combine(src, "words.txt"), "hello from the pipeline\n");
            File.WriteAllText(Path.Combine(src, "build.sh"),
                "set -e\nmkdir -p out/docs\necho \"building on $(uname -m) as $(id -un)\"\n" +
                "for i in 1 2 3; do echo \"step $i\"; done\necho 'a warning' >&2\n" +
                "cat input.bin input.bin > out/double.bin\ntr a-z A-Z < words.txt > out/docs/upper.txt\n");
            return (src, input, "HELLO FROM THE PIPELINE\n");
        }

        private void AssertArtifacts(GuestBuildResult result, string dest, byte[] input, string expectedUpper)
        {
            Assert.True(result.Succeeded);
            Assert.Equal(0, result.ExitCode);
            var names = result.Artifacts.Select(a => a.Name).OrderBy(n => n).ToArray();
            Assert.Equal(new[] { "docs/upper.txt", "double.bin" }, names);
            Assert.Equal(input.Concat(input).ToArray(), File.ReadAllBytes(Path.Combine(dest, "double.bin")));
            Assert.Equal(expectedUpper, File.ReadAllText(Path.Combine(dest, "docs", "upper.txt")));
            foreach (var a in result.Artifacts)
            {
                Assert.Equal(Checksums(a.FullName), a.Sha256);
                Assert.Equal(new FileInfo(a.FullName).Length, a.Length);
            }
            string sha = File.ReadAllText(Path.Combine(dest, "SHA256"));
            Assert.Contains($"SHA256 (double.bin) = {Checksums(Path.Combine(dest, "double.bin"))}", sha);
            Assert.Empty(Directory.GetFiles(dest, "*.partial", SearchOption.AllDirectories));
        }

        /// <summary>Host → guest → build → teardown, as one pipeline, ending with the build result.</summary>
        private static PsResult RunPipeline(PsSession ps, string connect, string src, string dest)
        {
            var image = TestGuestImage.Get();
            return ps.Run(
                $"{connect} | " +
                $"Start-OpenBsdGuest -Image '{image.Path}' -KeyFile '{image.KeyFile}' -Memory 512MB -CpuCount 1 | " +
                $"Invoke-GuestBuild -Path '{src}' -Command 'sh build.sh' -Artifact 'out/double.bin','out/docs' -Destination '{dest}' | " +
                "Remove-MetalHost -PassThru");
        }

        private static string Checksums(string path) => OpenBsdBuild.Builds.Checksums.Sha256File(path);

        [Fact]
        public void Local_host_guest_build_and_teardown_in_one_pipeline()
        {
            var (src, input, upper) = MakeSources();
            string dest = Path.Combine(_work, "artifacts");
            string state = Path.Combine(_work, "state");
            using var ps = new PsSession();
            var r = RunPipeline(ps, $"Connect-MetalHost -Local -StateDirectory '{state}'", src, dest);
            Assert.False(r.HadErrors, r.Describe());
            var result = r.Single<GuestBuildResult>();
            AssertArtifacts(result, dest, input, upper);

            // The build's lines reached the Information stream as they were printed, tagged by stream.
            Assert.Contains(r.Information, i => i.MessageData.ToString() == "building on aarch64 as build" && i.Tags.Contains("stdout"));
            Assert.Contains(r.Information, i => i.MessageData.ToString() == "a warning" && i.Tags.Contains("stderr"));
            Assert.Contains("step 3", File.ReadAllText(result.LogPath!));
            Assert.Contains(r.Progress, p => p.Activity.StartsWith("Starting guest"));
            Assert.Contains(r.Progress, p => p.Activity.StartsWith("Building on"));

            // Teardown left nothing: no QEMU, no overlay or vars.
            Assert.Empty(Tools.QemuProcesses(state));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(state, "guests")));
            Assert.Equal(HostState.Removed, result.Host.State);
        }

        [Fact]
        public void Ssh_host_reached_only_through_a_jump_runs_the_same_pipeline()
        {
            using var host = new NetnsSshHost();
            var (src, input, upper) = MakeSources();
            string dest = Path.Combine(_work, "artifacts-ssh");
            using var ps = new PsSession();
            var r = RunPipeline(ps, host.ConnectCommand, src, dest);
            Assert.False(r.HadErrors, r.Describe());
            var result = r.Single<GuestBuildResult>();
            AssertArtifacts(result, dest, input, upper);

            // QEMU ran inside the namespace: its forward is on the namespace's loopback, not ours.
            Assert.Equal(HostProvider.Ssh, result.Host.Provider);
            Assert.Empty(Tools.QemuProcesses(host.StateDirectory));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(host.StateDirectory, "guests")));
        }

        public void Dispose() => Directory.Delete(_work, true);
    }
}
