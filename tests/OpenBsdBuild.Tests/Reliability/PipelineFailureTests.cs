using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using Xunit;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// The pipelines users compose themselves (New-MetalHost | Start-OpenBsdGuest | Invoke-GuestBuild |
    /// Remove-MetalHost and its variants), failing at each stage, through real PowerShell pipelines
    /// against the EC2 emulator, a netns sshd as the instance and real QEMU guests. Each test proves
    /// its row of docs/reliability.md: the error the user gets, and that nothing is left.
    /// </summary>
    [Collection(PipelineReliabilityCollection.Name)]
    public sealed class PipelineFailureTests : OneShotTestBase
    {
        public PipelineFailureTests(ReliabilityNamespace ns) : base(ns) { }

        private const string WithThePipeline = "– (ends with the pipeline)";
        private const string InTheFinallyBlock = "– (in the finally block)";

        private string NewHost(string extra = "") => $"New-MetalHost {Lab.Launch} {extra}";
        private string StartGuest(string extra = "") => $"Start-OpenBsdGuest -Name g1 -Image '{Image.Path}' -KeyFile '{Image.KeyFile}' -Memory 512MB -CpuCount 1 {extra}";
        private string Build(string command, string extra = "", string minFreeSpace = "64MB") =>
            $"Invoke-GuestBuild -Path '{Sources()}' -Command '{command}' -WorkingDirectory /usr/obj/g1 -MinFreeSpace {minFreeSpace} -Destination '{Artifacts}' {extra}";

        private static void AssertError(PsResult r, string id)
        {
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith($"OpenBsdBuild.{id},", e!.FullyQualifiedErrorId);
        }

        [Fact]
        public void One_liner_whose_build_fails_writes_the_result_and_Remove_MetalHost_still_runs()
        {
            using var ps = new PsSession();
            var r = ps.Run($"{NewHost()} | {StartGuest()} | {Build("echo compiling; exit 2")} | Remove-MetalHost -PassThru");
            Assert.Null(r.Exception);
            AssertError(r, "BuildFailed");
            var result = r.Single<GuestBuildResult>();
            Assert.Equal(2, result.ExitCode);
            Assert.Same(result, r.FirstError!.TargetObject);
            Assert.Equal(HostState.Removed, result.Host.State);
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("One-liner: the build fails", "OpenBsdBuild.BuildFailed (non-terminating) and the result; Remove-MetalHost ends the host", null, WithThePipeline);
        }

        [Fact]
        public void One_liner_whose_preflight_refuses_writes_a_result_and_Remove_MetalHost_still_runs()
        {
            using var ps = new PsSession();
            var r = ps.Run($"{NewHost()} | {StartGuest()} | {Build("true", minFreeSpace: "1PB")} | Remove-MetalHost -PassThru");
            Assert.Null(r.Exception);
            AssertError(r, "PreflightFreeSpace");
            var result = r.Single<GuestBuildResult>();
            Assert.False(result.Succeeded);
            Assert.Null(result.ExitCode);
            Assert.Equal(HostState.Removed, result.Host.State);
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("One-liner: the preflight refuses", "OpenBsdBuild.PreflightFreeSpace (non-terminating) and a result that never ran; Remove-MetalHost ends the host", null, WithThePipeline);
        }

        [Fact]
        public void Without_Remove_MetalHost_ErrorAction_Stop_on_the_build_ends_host_and_guest_when_the_pipeline_fails()
        {
            // With Remove-MetalHost at the end the failed result reaches it before the error stops the
            // pipeline; without it, only the pipeline's end is left to end what it made.
            using var ps = new PsSession();
            var r = ps.Run($"{NewHost()} | {StartGuest()} | {Build("exit 2", "-ErrorAction Stop")}");
            Assert.NotNull(r.Exception);
            AssertError(r, "BuildFailed");
            Assert.Contains("the pipeline ended before it finished; removed what it had made", r.HostText);
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("New-MetalHost, Start-OpenBsdGuest, Invoke-GuestBuild without Remove-MetalHost: -ErrorAction Stop and the build fails", "OpenBsdBuild.BuildFailed (terminating); the host and guest the pipeline made are ended as it ends", null, WithThePipeline);
        }

        [Fact]
        public void One_liner_under_ErrorActionPreference_Stop_whose_guest_fails_to_start_leaves_nothing()
        {
            using var ps = new PsSession();
            var r = ps.Run($"$ErrorActionPreference = 'Stop'; {NewHost()} | Start-OpenBsdGuest -Name g1 -Image /nonexistent/disk.qcow2 -KeyFile '{Image.KeyFile}' -TrustHostKey | {Build("true")} | Remove-MetalHost");
            Assert.NotNull(r.Exception);
            Assert.Empty(r.All<GuestBuildResult>());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("One-liner: $ErrorActionPreference = 'Stop' and the guest does not start", "the guest's error (terminating); the host the pipeline made is ended as it ends", null, WithThePipeline);
        }

        [Fact]
        public void One_liner_whose_guest_fails_to_start_ends_the_host_nothing_else_leads_to()
        {
            using var ps = new PsSession();
            var r = ps.Run($"{NewHost()} | Start-OpenBsdGuest -Name g1 -Image /nonexistent/disk.qcow2 -KeyFile '{Image.KeyFile}' -TrustHostKey | {Build("true")} | Remove-MetalHost");
            Assert.Null(r.Exception);
            Assert.NotNull(r.FirstError);
            Assert.Contains("no later stage took them; removed what it had made", r.HostText);
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("One-liner: the guest does not start", "the guest's error (non-terminating); the host no stage passed on is ended as the pipeline ends", null, WithThePipeline);
        }

        [Fact]
        public void One_liner_whose_host_link_drops_while_the_guest_boots_is_HostLost_and_the_host_is_ended()
        {
            using var ps = new PsSession();
            try
            {
                var (r, took) = FaultWhen(ps, $"{NewHost()} | {StartGuest()} | {Build("true")} | Remove-MetalHost", () => GuestBooting("g1"), "the guest's boot",
                    () => Lab.Ssh.LinkDown());
                Assert.Null(r.Exception);
                AssertError(r, "HostLost");
                Assert.Contains("while guest g1 was booting", r.FirstError!.Exception.Message);
                Assert.Contains("no later stage took them; removed what it had made", r.HostText);
                Lab.Ssh.LinkUp();
                Lab.AssertNothingLeft(r);
                ReliabilityDoc.Row("One-liner: the link to the host drops while the guest boots", "OpenBsdBuild.HostLost (non-terminating) within ~20 s; the host no stage passed on is ended as the pipeline ends", took);
            }
            finally
            {
                Lab.Ssh.LinkUp();
            }
        }

        [Fact]
        public void One_liner_stopped_with_CtrlC_while_the_build_runs_leaves_nothing()
        {
            using var ps = new PsSession();
            var (r, took) = CancelWhen(ps, $"{NewHost()} | {StartGuest()} | {Build("echo started; sleep 120")} | Remove-MetalHost", () => BuildRuns("g1"), "the running build");
            Assert.Empty(r.All<GuestBuildResult>());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("One-liner: Ctrl+C while the build runs", "the pipeline stops; New-MetalHost ends its host as the pipeline is disposed", took);
        }

        [Fact]
        public void One_liner_whose_script_block_stage_throws_leaves_nothing()
        {
            using var ps = new PsSession();
            var r = ps.Run($"{NewHost()} | {StartGuest()} | ForEach-Object {{ throw 'the script failed' }} | Remove-MetalHost");
            Assert.NotNull(r.Exception);
            Assert.Contains("the script failed", r.Exception!.Message);
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("One-liner: a script block stage throws", "the script's exception; the host and guest the pipeline made are ended as it ends", null, WithThePipeline);
        }

        [Fact]
        public void A_host_assigned_to_a_variable_is_the_users_and_try_finally_ends_it()
        {
            using var ps = new PsSession();
            var made = ps.Run($"$h = {NewHost()}");
            Assert.False(made.HadErrors, made.Describe());
            // The pipeline completed: the host is the user's, still running.
            Assert.Equal(EmulatedInstanceState.Running, Lab.Emulator.Instances[Lab.InstanceId].State);
            var r = ps.Run($"try {{ $h | {StartGuest()} | {Build("exit 2", "-ErrorAction Stop")} }} finally {{ $h | Remove-MetalHost }}");
            AssertError(r, "BuildFailed");
            Assert.Equal("Removed", ps.Run("$h.State").Output.Single().ToString());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("$h = New-MetalHost, then try/finally: the build fails", "OpenBsdBuild.BuildFailed; the host stays the user's until the finally block removes it", null, InTheFinallyBlock);
        }

        [Fact]
        public void On_an_attached_host_a_failed_pipeline_stops_the_guest_it_started_and_keeps_the_host()
        {
            string state = Path.Combine(Work, "local");
            using var ps = new PsSession();
            var r = ps.Run($"$h = Connect-MetalHost -Local -StateDirectory '{state}'; $h | {StartGuest()} | {Build("exit 2", "-ErrorAction Stop")}");
            AssertError(r, "BuildFailed");
            Assert.Equal("Ready", ps.Run("$h.State").Output.Single().ToString());
            Ec2Lab.AssertNoGuests(state);
            ReliabilityDoc.Row("Attached host: -ErrorAction Stop and the build fails", "OpenBsdBuild.BuildFailed (terminating); the guest the pipeline started is stopped, the host is kept", null, WithThePipeline);
        }

        [Fact]
        public void An_unconnected_guest_is_a_non_terminating_error_with_a_result_that_still_reaches_Remove_MetalHost()
        {
            string state = Path.Combine(Work, "local");
            using var ps = new PsSession();
            var r = ps.Run($"$g = Connect-MetalHost -Local -StateDirectory '{state}' | {StartGuest()}; $g | Stop-OpenBsdGuest; $g | {Build("true")} | Remove-MetalHost -PassThru");
            Assert.Null(r.Exception);
            AssertError(r, "GuestNotConnected");
            var result = r.Single<GuestBuildResult>();
            Assert.Equal(HostState.Removed, result.Host.State);
            Ec2Lab.AssertNoGuests(state);
            ReliabilityDoc.Row("A guest that is not connected", "OpenBsdBuild.GuestNotConnected (non-terminating) and a result that never ran; Remove-MetalHost releases the host", null, WithThePipeline);
        }

        /// <summary>
        /// The one-liner whose host link dies in a build phase: the build's GuestLost is non-terminating and its result still
        /// reaches Remove-MetalHost, which ends the host (its guests cannot be stopped over the dead link; EC2 ends them with it).
        /// With <paramref name="beforeTheBuild"/>, a pass-through stage between the guest's start and the build cuts the link.
        /// </summary>
        private void LinkDiesInTheOneLiner(string build, Func<bool> reached, string phase, string row, bool beforeTheBuild = false) =>
            LinkDies($"{NewHost()} | {StartGuest()} | {(beforeTheBuild ? "ForEach-Object { $cut.Invoke(); $_ } | " : "")}{build} | Remove-MetalHost -PassThru",
                beforeTheBuild ? null : reached, phase, r =>
                {
                    var (result, lost) = AssertGuestLost(r, phase);
                    // Remove-MetalHost cannot stop the guest over the dead link: a non-terminating HostLost for it, and the host is still ended.
                    Assert.All(r.Errors.Where(e => e != lost), e => Assert.StartsWith("OpenBsdBuild.HostLost,", e.FullyQualifiedErrorId));
                    Assert.Equal(HostState.Removed, result.Host.State);
                }, row, $"OpenBsdBuild.GuestLost naming the {phase} (non-terminating) within ~20 s and the result; Remove-MetalHost still ends the host (HostLost for the guest it cannot stop)");

        [Fact]
        public void One_liner_whose_host_link_is_dead_when_the_build_starts_is_GuestLost_in_the_preflight_and_the_host_is_ended()
        {
            LinkDiesInTheOneLiner(Build("true"), () => true, "preflight", "One-liner: the link to the host is dead when the build starts (preflight)", beforeTheBuild: true);
        }

        [Fact]
        public void One_liner_whose_host_link_drops_while_the_build_runs_is_GuestLost_and_the_host_is_ended()
        {
            LinkDiesInTheOneLiner(Build("echo started; sleep 300"), () => BuildRuns("g1"), "build", "One-liner: the link to the host drops while the build runs");
        }

        [Fact]
        public void One_liner_whose_host_link_drops_during_the_artifact_download_is_GuestLost_and_the_host_is_ended()
        {
            LinkDiesInTheOneLiner(Build("head -c 24000000 /dev/urandom > big.bin", "-Artifact big.bin"), () => PartialArtifacts() > (1 << 20), "download of the artifacts",
                "One-liner: the link to the host drops during the artifact download");
            Assert.False(File.Exists(Path.Combine(Artifacts, "big.bin")));
        }
    

        [Fact]
        public void One_liner_whose_host_link_drops_during_the_source_upload_is_GuestLost_and_the_host_is_ended()
        {
            string src = BigSources();
            LinkDiesInTheOneLiner($"Invoke-GuestBuild -Path '{src}' -Command true -WorkingDirectory /usr/obj/g1 -MinFreeSpace 64MB -Destination '{Artifacts}'",
                () => GuestKiB("g1") > 2048, "upload of the sources", "One-liner: the link to the host drops during the source upload");
        }

        [Fact]
        public void One_liner_stopped_with_CtrlC_while_New_MetalHost_prepares_the_host_leaves_nothing()
        {
            using var ps = new PsSession();
            using (ParkOnHost("*'/status\" 2>/dev/null; true'*"))
            {
                var (r, took) = CancelWhen(ps, $"{NewHost()} | {StartGuest()} | {Build("true")} | Remove-MetalHost", () => Parked, "New-MetalHost's bootstrap follow");
                Assert.Empty(r.All<GuestBuildResult>());
                Lab.AssertNothingLeft(r);
                ReliabilityDoc.Row("One-liner: Ctrl+C while New-MetalHost prepares the host", "the pipeline stops; New-MetalHost removes what it had created", took);
            }
        }

        [Fact]
        public void One_liner_stopped_with_CtrlC_while_the_guest_boots_leaves_nothing()
        {
            using var ps = new PsSession();
            var (r, took) = CancelWhen(ps, $"{NewHost()} | {StartGuest()} | {Build("true")} | Remove-MetalHost", () => GuestBooting("g1"), "the guest's boot");
            Assert.Empty(r.All<GuestBuildResult>());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("One-liner: Ctrl+C while the guest boots", "the pipeline stops; Start-OpenBsdGuest removes its guest and New-MetalHost ends its host as the pipeline is disposed", took);
        }

        [Fact]
        public void One_liner_stopped_with_CtrlC_while_Remove_MetalHost_stops_the_guest_leaves_nothing()
        {
            using var ps = new PsSession();
            // The guest's stop never ends on the host (parked), so Ctrl+C lands in Remove-MetalHost; the pipeline's end still ends the host.
            using (ParkOnHost("*powered-off*"))
            {
                var (r, took) = CancelWhen(ps, $"{NewHost()} | {StartGuest()} | {Build("true")} | Remove-MetalHost", () => Parked, "Remove-MetalHost's guest stop");
                Assert.Contains("the pipeline ended before it finished; removed what it had made", r.HostText);
                Lab.AssertNothingLeft(r);
                ReliabilityDoc.Row("One-liner: Ctrl+C while Remove-MetalHost stops the guest", "the pipeline stops; New-MetalHost ends its host (and the guest with it) as the pipeline is disposed", took);
            }
        }

        [Fact]
        public void On_an_attached_host_whose_link_drops_during_the_source_upload_Disconnect_MetalHost_returns_and_the_guest_is_removed_once_the_host_answers()
        {
            // The README's shape on a machine attached over SSH, the link cut while the upload fills its buffers: the build is
            // GuestLost, and Disconnect-MetalHost, which cannot stop the guest over the dead link, must still return.
            string src = BigSources();
            var ssh = Lab.Ssh;
            using var ps = new PsSession();
            try
            {
                PsResult r;
                TimeSpan took;
                using (ThrottleLink())
                {
                    var running = ps.RunAsync($"{ssh.ConnectCommand} | {StartGuest()} | Invoke-GuestBuild -Path '{src}' -Command true -WorkingDirectory /usr/obj/g1 " +
                                              $"-MinFreeSpace 64MB -Destination '{Artifacts}' | Disconnect-MetalHost -PassThru");
                    WaitFor(() => GuestKiB("g1", ssh.StateDirectory) > 2048, running, "the source upload");
                    var clock = Stopwatch.StartNew();
                    ssh.LinkDown();
                    // A bound, not a speed check: the suite's per-test guard (20 min) would let TCP's ~15 min pass.
                    Assert.True(running.Wait(TimeSpan.FromMinutes(5)), "The link died during the upload and the pipeline had not returned 5 min later.");
                    took = clock.Elapsed;
                    r = running.Result;
                }
                var (result, notStopped) = AssertGuestLostAndGuestNotStopped(r, "upload of the sources");
                Assert.Equal(HostState.Disconnected, result.Host.State);

                // The guest is still on the machine; once the host answers, it is found and stopped as the error says.
                ssh.LinkUp();
                Assert.NotEmpty(Tools.QemuProcesses(ssh.StateDirectory));
                Assert.Contains("Get-OpenBsdGuest -Name g1 | Stop-OpenBsdGuest", notStopped.ErrorDetails?.RecommendedAction);
                var stopped = ps.Run($"{ssh.ConnectCommand} | ForEach-Object {{ $_ | Get-OpenBsdGuest -Name g1 | Stop-OpenBsdGuest; $_ | Disconnect-MetalHost }}");
                Assert.False(stopped.HadErrors, stopped.Describe());
                Ec2Lab.AssertNoGuests(ssh.StateDirectory);
                ReliabilityDoc.Row("Attached host: the link to the host drops during the source upload, Disconnect-MetalHost ends the pipeline",
                    "OpenBsdBuild.GuestLost (non-terminating) and the result; Disconnect-MetalHost returns, the host Disconnected, with a HostLost for the guest that says to stop it with Stop-OpenBsdGuest once the host answers", took);
            }
            finally
            {
                ssh.LinkUp();
                foreach (int pid in Tools.QemuProcesses(ssh.StateDirectory)) Tools.Sh($"kill -9 {pid}", allowFailure: true);
            }
        }

        /// <summary>The build's non-terminating GuestLost naming <paramref name="phase"/>, with the failed result as its target.</summary>
        private static (GuestBuildResult result, ErrorRecord lost) AssertGuestLost(PsResult r, string phase)
        {
            Assert.Null(r.Exception);
            var lost = r.Errors.FirstOrDefault(e => e.FullyQualifiedErrorId.StartsWith("OpenBsdBuild.GuestLost,", StringComparison.Ordinal));
            Assert.True(lost != null, r.Describe());
            Assert.Contains($"was lost during the {phase}", lost!.Exception.Message);
            var result = r.Single<GuestBuildResult>();
            Assert.Same(result, lost.TargetObject);
            Assert.False(result.Succeeded);
            return (result, lost);
        }

        /// <summary>
        /// What an attached host's pipeline gives the user when its link died in <paramref name="phase"/> of the build: the
        /// GuestLost, and one HostLost for the guest that the last stage could not stop over the dead link.
        /// </summary>
        private static (GuestBuildResult result, ErrorRecord notStopped) AssertGuestLostAndGuestNotStopped(PsResult r, string phase)
        {
            var (result, lost) = AssertGuestLost(r, phase);
            var notStopped = Assert.Single(r.Errors, e => e != lost);
            Assert.StartsWith("OpenBsdBuild.HostLost,", notStopped.FullyQualifiedErrorId);
            Assert.Same(result.Guest, notStopped.TargetObject);
            return (result, notStopped);
        }

        private string LocalState => Path.Combine(Work, "local");
        private string Attached => $"Connect-MetalHost -Local -StateDirectory '{LocalState}'";

        [Fact]
        public void On_an_attached_host_a_preflight_refusal_writes_a_result_and_Remove_MetalHost_still_runs()
        {
            using var ps = new PsSession();
            var r = ps.Run($"{Attached} | {StartGuest()} | {Build("true", minFreeSpace: "1PB")} | Remove-MetalHost -PassThru");
            Assert.Null(r.Exception);
            AssertError(r, "PreflightFreeSpace");
            var result = r.Single<GuestBuildResult>();
            Assert.Null(result.ExitCode);
            Assert.Equal(HostState.Removed, result.Host.State);
            Ec2Lab.AssertNoGuests(LocalState);
            ReliabilityDoc.Row("Attached host: the preflight refuses", "OpenBsdBuild.PreflightFreeSpace (non-terminating) and a result that never ran; Remove-MetalHost stops the guest and releases the host", null, WithThePipeline);
        }

        [Fact]
        public void On_an_attached_host_CtrlC_while_the_guest_boots_leaves_nothing()
        {
            using var ps = new PsSession();
            var (r, took) = CancelWhen(ps, $"{Attached} | {StartGuest()} | {Build("true")} | Remove-MetalHost", () => GuestBooting("g1", LocalState), "the guest's boot");
            Assert.Empty(r.All<GuestBuildResult>());
            Ec2Lab.AssertNoGuests(LocalState);
            ReliabilityDoc.Row("Attached host: Ctrl+C while the guest boots", "the pipeline stops; Start-OpenBsdGuest removes its guest", took);
        }

        [Fact]
        public void On_an_attached_host_a_throwing_script_block_stage_stops_the_guest_unless_KeepOnFailure()
        {
            using var ps = new PsSession();
            // A pass-through stage keeps the attached host in $h, to see what became of it once the pipeline is over.
            var r = ps.Run($"{Attached} | ForEach-Object {{ $h = $_; $_ }} | {StartGuest()} | ForEach-Object {{ throw 'the script failed' }} | Remove-MetalHost");
            Assert.NotNull(r.Exception);
            Assert.Contains("the script failed", r.Exception!.Message);
            // The host's release (its command is disposed first) stops the guest; Start-OpenBsdGuest's finds it stopped.
            Assert.Contains("stopped the guests started on it: g1", r.HostText);
            Ec2Lab.AssertNoGuests(LocalState);
            ReliabilityDoc.Row("Attached host: a script block stage throws", "the script's exception; the guest the pipeline started is stopped", null, WithThePipeline);

            // Nothing leads to the host the pipeline attached: it is let go of (the machine itself is kept), as Disconnect-MetalHost does.
            Assert.Contains("Connect-MetalHost: the pipeline ended before it finished; disconnected from", r.HostText);
            Assert.Equal("Disconnected", ps.Run("$h.State").Output.Single().ToString());
            ReliabilityDoc.Row("Attached host: the pipeline ends abnormally", "the host it attached is Disconnected (its connection closed, no longer listed); the machine is kept", null, WithThePipeline);

            // -KeepOnFailure keeps the guest, on a local host too, and names it; its host stays attached, so Get-OpenBsdGuest
            // with no input finds the guest; nothing else stops it.
            var kept = ps.Run($"{Attached} | ForEach-Object {{ $k = $_; $_ }} | {StartGuest("-KeepOnFailure")} | ForEach-Object {{ throw 'the script failed' }} | Remove-MetalHost");
            Assert.NotNull(kept.Exception);
            Assert.Contains("kept with -KeepOnFailure: g1", kept.HostText);
            Assert.Contains("still attached to", kept.HostText);
            Assert.Single(Tools.QemuProcesses(LocalState));
            Assert.Equal("Ready", ps.Run("$k.State").Output.Single().ToString());
            // Hosts are listed per process: other tests' hosts may answer too (or not: their links may be down), so only $k's guest counts.
            Assert.Equal("Running", ps.Run("(Get-OpenBsdGuest -Name g1 -ErrorAction SilentlyContinue | Where-Object { [object]::ReferenceEquals($_.Host, $k) }).State").Output.Single().ToString());
            var stopped = ps.Run("$k | Get-OpenBsdGuest -Name g1 | Stop-OpenBsdGuest; $k | Disconnect-MetalHost");
            Assert.False(stopped.HadErrors, stopped.Describe());
            Ec2Lab.AssertNoGuests(LocalState);
            ReliabilityDoc.Row("Attached host: the pipeline ends abnormally with a guest kept by -KeepOnFailure", "the guest keeps running and its host stays attached, so Get-OpenBsdGuest finds it", null, "– (the user stops it)");
        }

        [Fact]
        public void With_KeepOnFailure_a_failed_build_keeps_its_guest_past_Remove_MetalHost_until_the_pipeline_has_completed()
        {
            using var ps = new PsSession();
            var r = ps.Run($"$r = {Attached} | ForEach-Object {{ $k = $_; $_ }} | {StartGuest("-KeepOnFailure")} | {Build("exit 2")} | Remove-MetalHost -PassThru");
            Assert.Null(r.Exception);
            AssertError(r, "BuildFailed");
            Assert.Contains(r.Warnings, w => w.Message.StartsWith("The build in g1 failed, and -KeepOnFailure was given earlier in this pipeline: kept g1", StringComparison.Ordinal));
            // Kept: the guest runs, its host stays attached and lists it, and the result still came out of Remove-MetalHost.
            Assert.Single(Tools.QemuProcesses(LocalState));
            Assert.Equal("Ready", ps.Run("$k.State").Output.Single().ToString());
            Assert.Equal("Running", ps.Run("($k | Get-OpenBsdGuest -Name g1).State").Output.Single().ToString());
            Assert.Equal("False", ps.Run("$r.Succeeded").Output.Single().ToString());

            // The pipeline has completed: the same result now removes what was kept.
            var removed = ps.Run("$r | Remove-MetalHost");
            Assert.False(removed.HadErrors, removed.Describe());
            Assert.Empty(removed.Warnings);
            Ec2Lab.AssertNoGuests(LocalState);
            ReliabilityDoc.Row("Attached host with Start-OpenBsdGuest -KeepOnFailure: the build fails", "OpenBsdBuild.BuildFailed (non-terminating) and the result; Remove-MetalHost keeps the guest and its host with a warning saying how to remove them; the result removes them once the pipeline has completed", null, "– (the user removes it)");
        }

        [Fact]
        public void On_an_attached_host_whose_guest_fails_to_start_the_host_nothing_leads_to_is_disconnected()
        {
            using var ps = new PsSession();
            var r = ps.Run($"{Attached} | ForEach-Object {{ $h = $_; $_ }} | Start-OpenBsdGuest -Name g1 -Image /nonexistent/disk.qcow2 -KeyFile '{Image.KeyFile}' -TrustHostKey | {Build("true")} | Remove-MetalHost");
            Assert.Null(r.Exception);
            Assert.NotNull(r.FirstError);
            Assert.Contains("Connect-MetalHost: no later stage took them; disconnected from", r.HostText);
            Assert.Equal("Disconnected", ps.Run("$h.State").Output.Single().ToString());
            Ec2Lab.AssertNoGuests(LocalState);
            ReliabilityDoc.Row("Attached host: the guest does not start", "the guest's error (non-terminating); the host no stage passed on is Disconnected as the pipeline ends", null, WithThePipeline);
        }

        [Fact]
        public void On_an_attached_host_whose_link_drops_while_the_build_runs_the_guest_is_named_and_removed_once_the_host_answers()
        {
            string state = Lab.Ssh.StateDirectory;
            using var ps = new PsSession();
            try
            {
                var (r, took) = FaultWhen(ps, $"$h = {Lab.Ssh.ConnectCommand}; $h | {StartGuest()} | {Build("echo started; sleep 300")} | Remove-MetalHost -PassThru",
                    () => BuildRuns("g1", state), "the running build", () => Lab.Ssh.LinkDown());
                // Remove-MetalHost cannot stop the guest over the dead link: HostLost names it, and the host is released.
                var (result, notStopped) = AssertGuestLostAndGuestNotStopped(r, "build");
                Assert.Equal(HostState.Removed, result.Host.State);

                // Once the host answers, the guest is found and stopped as the error says.
                Lab.Ssh.LinkUp();
                Assert.Contains("Get-OpenBsdGuest -Name g1 | Stop-OpenBsdGuest", notStopped.ErrorDetails?.RecommendedAction);
                var stopped = ps.Run($"{Lab.Ssh.ConnectCommand} | Get-OpenBsdGuest -Name g1 | Stop-OpenBsdGuest");
                Assert.False(stopped.HadErrors, stopped.Describe());
                Ec2Lab.AssertNoGuests(state);
                ReliabilityDoc.Row("Attached host: the link to the host drops while the build runs",
                    "OpenBsdBuild.GuestLost (non-terminating) and the result; Remove-MetalHost's HostLost for the guest says to stop it with Stop-OpenBsdGuest once the host answers", took);
            }
            finally
            {
                Lab.Ssh.LinkUp();
                foreach (int pid in Tools.QemuProcesses(state)) Tools.Sh($"kill -9 {pid}", allowFailure: true);
            }
        }

        [Fact]
        public void A_host_assigned_to_a_variable_is_ended_by_the_finally_block_when_the_guest_does_not_start_or_the_script_throws()
        {
            using var ps = new PsSession();
            var r = ps.Run($"$h = {NewHost()}; try {{ $h | Start-OpenBsdGuest -Name g1 -Image /nonexistent/disk.qcow2 -KeyFile '{Image.KeyFile}' -TrustHostKey -ErrorAction Stop | {Build("true")} }} finally {{ $h | Remove-MetalHost }}");
            Assert.NotNull(r.Exception);
            Assert.Equal("Removed", ps.Run("$h.State").Output.Single().ToString());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("$h = New-MetalHost, then try/finally: -ErrorAction Stop and the guest does not start", "the guest's error (terminating); the finally block removes the host", null, InTheFinallyBlock);

            var thrown = ps.Run($"$h = {NewHost()}; try {{ throw 'the script failed' }} finally {{ $h | Remove-MetalHost }}");
            Assert.Contains("the script failed", thrown.Exception?.Message);
            Assert.Equal("Removed", ps.Run("$h.State").Output.Single().ToString());
            Lab.AssertNothingLeft(thrown);
            ReliabilityDoc.Row("$h = New-MetalHost, then try/finally: the script throws", "the script's exception; the finally block removes the host", null, InTheFinallyBlock);
        }

        [Fact]
        public void A_host_assigned_to_a_variable_is_ended_by_the_finally_block_on_CtrlC_while_the_guest_boots()
        {
            using var ps = new PsSession();
            var (r, took) = CancelWhen(ps, $"$h = {NewHost()}; try {{ $h | {StartGuest()} | {Build("true")} }} finally {{ $h | Remove-MetalHost }}", () => GuestBooting("g1"), "the guest's boot");
            Assert.Equal("Removed", ps.Run("$h.State").Output.Single().ToString());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("$h = New-MetalHost, then try/finally: Ctrl+C while the guest boots", "the pipeline stops; the finally block still runs and removes the host", took);
        }

        [Fact]
        public void A_host_assigned_to_a_variable_is_ended_by_the_finally_block_after_a_preflight_refusal_and_a_dead_link()
        {
            // One guest for two failures: the refusal is caught, then the link dies before the next build.
            using var ps = new PsSession();
            var clock = new System.Diagnostics.Stopwatch();
            ps.Set("cut", (Action)(() => { clock.Start(); Lab.Ssh.LinkDown(); }));
            try
            {
                var r = ps.Run($"$h = {NewHost()}; try {{ $g = $h | {StartGuest()}; " +
                               $"try {{ $g | {Build("true", "-ErrorAction Stop", minFreeSpace: "1PB")} }} catch {{ $refused = $_ }}; " +
                               $"$cut.Invoke(); $g | {Build("true")} }} finally {{ $h | Remove-MetalHost }}");
                var took = clock.Elapsed;
                Assert.StartsWith("OpenBsdBuild.PreflightFreeSpace,", ps.Run("$refused.FullyQualifiedErrorId").Output.Single().ToString());
                var lost = r.Errors.FirstOrDefault(e => e.FullyQualifiedErrorId.StartsWith("OpenBsdBuild.GuestLost,", StringComparison.Ordinal));
                Assert.True(lost != null, r.Describe());
                Assert.Contains("was lost during the preflight", lost!.Exception.Message);
                Assert.Equal("Removed", ps.Run("$h.State").Output.Single().ToString());
                Lab.Ssh.LinkUp();
                Lab.AssertNothingLeft(r);
                ReliabilityDoc.Row("$h = New-MetalHost, then try/finally: -ErrorAction Stop and the preflight refuses", "OpenBsdBuild.PreflightFreeSpace (terminating); the host stays the user's until the finally block removes it", null, InTheFinallyBlock);
                ReliabilityDoc.Row("$h = New-MetalHost, then try/finally: the link to the host drops", "OpenBsdBuild.GuestLost within ~20 s; the finally block still removes the host (HostLost for the guest it cannot stop)", took);
            }
            finally
            {
                Lab.Ssh.LinkUp();
            }
        }
    }
}
