using System;
using System.IO;
using System.Linq;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// Ctrl+C (the pipeline stopped, as PowerShell does it) at every stage of the flow, through real
    /// pipelines: each stop must return (its time goes to docs/reliability.md) and leave nothing — no instance, security
    /// group or key pair in EC2, no QEMU, no guest files, no key files, no artifact that looks complete.
    /// </summary>
    [Collection(ReliabilityCollection.Name)]
    public sealed class CancellationTests : OneShotTestBase
    {
        public CancellationTests(ReliabilityNamespace ns) : base(ns) { }

        [Fact]
        public void CtrlC_while_New_MetalHost_waits_for_the_instance()
        {
            Lab.Emulator.StuckPending(true);
            using var ps = new PsSession();
            var (r, took) = CancelWhen(ps, $"New-MetalHost {Lab.Launch}", () => Lab.Emulator.Instances.Count > 0, "the EC2 wait");
            Assert.Empty(r.All<MetalHost>());
            Lab.Emulator.StuckPending(false);
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("Ctrl+C: New-MetalHost waiting for the instance", "the pipeline stops", took);
        }

        [Fact]
        public void CtrlC_while_the_one_shot_host_bootstraps()
        {
            Lab.Booter.SlowStatusUpdates();
            using var ps = new PsSession();
            // The user data has started (it arms the self-destruct first) and reports its phases slowly.
            var (r, took) = CancelWhen(ps, OneShot("true"), () => Lab.Booter.ShutdownArgs.Length > 0, "the host bootstrap");
            Assert.Empty(r.All<GuestBuildResult>());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("Ctrl+C: Invoke-OpenBsdBuild during the host bootstrap", "the pipeline stops", took);
        }

        [Fact]
        public void CtrlC_while_the_guest_boots()
        {
            using var ps = new PsSession();
            var (r, took) = CancelWhen(ps, OneShot("true"), () => Tools.QemuProcesses(Lab.GuestState).Length > 0, "the guest boot");
            Assert.Empty(r.All<GuestBuildResult>());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("Ctrl+C: Invoke-OpenBsdBuild during the guest boot", "the pipeline stops", took);
        }

        [Fact]
        public void CtrlC_while_sources_upload()
        {
            // 48 MB that does not compress: the upload through the guest's emulated crypto takes many seconds.
            string src = Sources();
            using (var f = File.Create(Path.Combine(src, "blob.bin")))
            {
                var bytes = new byte[48 << 20];
                new Random(7).NextBytes(bytes);
                f.Write(bytes);
            }
            using var ps = new PsSession();
            var (r, took) = CancelWhen(ps, OneShot("true", "-Verbose"),
                () => int.TryParse(Lab.GuestSh("g1", Image.KeyFile, "du -sk /usr/obj/g1 2>/dev/null | cut -f1").Trim(), out int kb) && kb > 1024, "the source upload");
            Assert.Empty(r.All<GuestBuildResult>());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("Ctrl+C: Invoke-OpenBsdBuild during the source upload", "the pipeline stops", took);
        }

        [Fact]
        public void CtrlC_while_the_build_runs()
        {
            using var ps = new PsSession();
            var (r, took) = CancelWhen(ps, OneShot("echo started; sleep 120"), () => BuildRuns("g1"), "the running build");
            Assert.Empty(r.All<GuestBuildResult>());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("Ctrl+C: Invoke-OpenBsdBuild while the build runs", "the pipeline stops", took);
        }

        [Fact]
        public void CtrlC_mid_file_while_an_artifact_downloads_leaves_no_complete_looking_file()
        {
            using var ps = new PsSession();
            string partial = Path.Combine(Artifacts, "big.bin.partial");
            var (r, took) = CancelWhen(ps, OneShot("mkdir -p out; head -c 50000000 /dev/urandom > out/big.bin", "-Artifact out/big.bin"),
                () => File.Exists(partial) && new FileInfo(partial).Length > (1 << 20), "the artifact download");
            Assert.Empty(r.All<GuestBuildResult>());
            Assert.False(File.Exists(Path.Combine(Artifacts, "big.bin")));
            Assert.Empty(Directory.GetFiles(Artifacts, "*.partial", SearchOption.AllDirectories));
            Assert.False(File.Exists(Path.Combine(Artifacts, "SHA256")));
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("Ctrl+C: Invoke-OpenBsdBuild mid-file in the artifact download", "the pipeline stops; no artifact file", took);
        }
    }
}
