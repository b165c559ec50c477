using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// Invoke-OpenBsdBuild, the whole flow in one cmdlet, through real pipelines: a host (the EC2
    /// emulator with a netns sshd as the instance, or this machine), a QEMU guest, the build,
    /// artifacts, and the teardown of everything it made on success, failure and faults.
    /// </summary>
    [Collection(ReliabilityCollection.Name)]
    public sealed class OneShotBuildTests : OneShotTestBase
    {
        public OneShotBuildTests(ReliabilityNamespace ns) : base(ns) { }

        [Fact]
        public void On_a_new_EC2_host_the_build_returns_its_result_and_everything_is_removed()
        {
            // On the way: a throttling burst (retried with backoff) and no a1.metal capacity anywhere (the next type is used).
            Lab.Emulator.FailNext("RunInstances", "RequestLimitExceeded", count: 3);
            Lab.Emulator.FailNext("DescribeInstances", "RequestLimitExceeded", count: 2);
            Lab.Emulator.InsufficientCapacity("a1.metal");
            using var ps = new PsSession();
            var r = ps.Run(OneShot("sh build.sh", "-Artifact out/upper.txt -InstanceType a1.metal,c7g.metal -Verbose"));
            Assert.False(r.HadErrors, r.Describe() + "\nboot log:\n" + Lab.Booter.BootLog);
            var result = r.Single<GuestBuildResult>();
            Assert.True(result.Succeeded);
            Assert.Equal("ONE SHOT\n", File.ReadAllText(Path.Combine(Artifacts, "upper.txt")));
            Assert.Equal(HostProvider.Ec2, result.Host.Provider);
            Assert.Equal(HostState.Removed, result.Host.State);
            Assert.Contains(r.Information, i => i.MessageData.ToString()!.StartsWith("Removed " + result.Host.InstanceId));
            Assert.StartsWith("-h +120", Lab.Booter.ShutdownArgs); // the self-destruct was armed all along
            Assert.Equal(0, Lab.Emulator.PendingFailures);
            Assert.Equal("c7g.metal", result.Host.InstanceType);
            Assert.Contains(r.Warnings, w => w.Message.Contains("a1.metal in us-east-1a: InsufficientInstanceCapacity"));
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("EC2 throttling burst and no capacity for the first type", "a warning naming the zones and types tried; the build runs", CleanupTime(r));
        }

        [Fact]
        public void On_an_attached_host_only_the_guest_it_started_is_stopped()
        {
            string state = Path.Combine(Work, "local");
            using var ps = new PsSession();
            var r = ps.Run($"$h = Connect-MetalHost -Local -StateDirectory '{state}'; $h | Invoke-OpenBsdBuild {Guest} -Path '{Sources()}' -Command 'sh build.sh' -Artifact out/upper.txt; $h");
            Assert.False(r.HadErrors, r.Describe());
            var result = r.Single<GuestBuildResult>();
            Assert.Equal("ONE SHOT\n", File.ReadAllText(result.Artifacts.Single().FullName));
            Assert.Equal(HostState.Ready, r.Single<MetalHost>().State); // the user's host is theirs to end
            Assert.Empty(r.Single<MetalHost>().Guests);
            Ec2Lab.AssertNoGuests(state);
        }

        [Fact]
        public void A_failing_build_is_one_clear_error_and_everything_is_removed()
        {
            using var ps = new PsSession();
            var r = ps.Run(OneShot("echo compiling; exit 3", "-Verbose"));
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.BuildFailed,", e!.FullyQualifiedErrorId);
            var result = Assert.IsType<GuestBuildResult>(e.TargetObject);
            Assert.Equal(3, result.ExitCode);
            Assert.Equal(HostState.Removed, result.Host.State);
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("The build fails", "OpenBsdBuild.BuildFailed with the last lines", CleanupTime(r));
        }

        [Fact]
        public void KeepHostOnFailure_keeps_host_and_guest_and_prints_an_ssh_command_that_gets_in()
        {
            using var ps = new PsSession();
            var r = ps.Run($"try {{ {OneShot("exit 4", "-KeepHostOnFailure")} -ErrorAction Stop }} catch {{ $kept = $_.TargetObject; throw }}");
            Assert.StartsWith("OpenBsdBuild.BuildFailed,", r.FirstError!.FullyQualifiedErrorId);
            string warning = Assert.Single(r.Warnings, w => w.Message.Contains("reach it with")).Message;
            Assert.Contains($"Remove-MetalHost -InstanceId {Lab.InstanceId}", warning);
            Assert.Equal(EmulatedInstanceState.Running, Lab.Emulator.Instances[Lab.InstanceId].State);
            Assert.Single(Tools.QemuProcesses(Lab.GuestState));

            // The printed command, as printed, gets into the guest through the host (only host-key prompts are turned off).
            string command = warning.Substring(warning.IndexOf("ssh -i", StringComparison.Ordinal));
            command = command.Substring(0, command.IndexOf(" (guest host key", StringComparison.Ordinal));
            Assert.Contains("-W %h:%p root@" + Lab.Ssh.Address, command);
            string quiet = command.Replace("ssh -i", "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -i");
            Assert.Equal("inside", Tools.Sh(quiet + " echo inside").Trim());

            // The self-destruct stays armed; the user removes the host when done.
            Assert.StartsWith("-h +120", Lab.Booter.ShutdownArgs);
            var removed = ps.Run("$kept | Remove-MetalHost");
            Assert.False(removed.HadErrors, removed.Describe());
            Lab.AssertNothingLeft(r);
        }

        [Fact]
        public void QEMU_killed_mid_build_is_GuestDied_with_the_serial_console_tail_and_nothing_is_left()
        {
            using var ps = new PsSession();
            var (r, took) = FaultWhen(ps, OneShot("echo started; sleep 120"), () => BuildRuns("g1"), "the running build",
                () => { foreach (int pid in Tools.QemuProcesses(Lab.GuestState)) Tools.Sh($"kill -9 {pid}"); });
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.GuestDied,", e!.FullyQualifiedErrorId);
            Assert.Contains("Last serial console lines", e.Exception.Message);
            Assert.DoesNotContain("printed nothing", e.Exception.Message);
            Assert.Contains("started", e.Exception.Message); // the build's last lines
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("QEMU killed mid-build", "OpenBsdBuild.GuestDied with the serial console tail", took);
        }

        [Fact]
        public void QEMU_killed_mid_build_on_a_host_slow_to_answer_is_still_GuestDied()
        {
            // On a loaded machine (other TCG guests) a fresh command on the host can take seconds. The guest's
            // connection was closed, not silent, so the host is there: its answer must be waited for, or the
            // guest that died reads as lost. Every new command on the host here first sleeps 8 s (root's
            // ~/.bashrc, which bash reads for commands sshd runs).
            string bashrc = Path.Combine(Lab.Ssh.Directory, "root-bashrc");
            string original = File.ReadAllText(bashrc);
            using var ps = new PsSession();
            try
            {
                var (r, took) = FaultWhen(ps, OneShot("echo started; sleep 120"), () => BuildRuns("g1"), "the running build", () =>
                {
                    File.WriteAllText(bashrc, "sleep 8\n" + original);
                    foreach (int pid in Tools.QemuProcesses(Lab.GuestState)) Tools.Sh($"kill -9 {pid}");
                });
                var e = r.FirstError;
                Assert.True(e != null, r.Describe());
                Assert.True(e!.FullyQualifiedErrorId.StartsWith("OpenBsdBuild.GuestDied,", StringComparison.Ordinal), e.Exception.Message);
                File.WriteAllText(bashrc, original);
                Lab.AssertNothingLeft(r);
            }
            finally
            {
                File.WriteAllText(bashrc, original);
            }
        }

        [Fact]
        public void A_spot_host_terminated_underneath_the_build_is_HostInterrupted_not_a_hang()
        {
            using var ps = new PsSession();
            var (r, took) = FaultWhen(ps, OneShot("echo started; sleep 120", "-Spot"), () => BuildRuns("g1"), "the running build", () =>
            {
                // EC2 reclaims the machine: the instance is terminated and everything on it dies.
                Lab.Emulator.TerminateUnderneath(Lab.InstanceId);
                foreach (int pid in Tools.QemuProcesses(Lab.GuestState)) Tools.Sh($"kill -9 {pid}");
            });
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.HostInterrupted,", e!.FullyQualifiedErrorId);
            Assert.Contains("spot instance", e.Exception.Message);
            Assert.Contains("Server.SpotInstanceTermination", e.Exception.Message);
            Assert.IsType<GuestBuildResult>(e.TargetObject);
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("Spot host terminated mid-build", "OpenBsdBuild.HostInterrupted naming the spot interruption", took);
        }
    

        [Fact]
        public void The_link_to_the_host_dropping_while_the_guest_boots_is_HostLost_not_a_hang()
        {
            using var ps = new PsSession();
            try
            {
                // Cut once QEMU runs and the boot wait has begun (the guest's record names its SSH port).
                var (r, took) = FaultWhen(ps, OneShot("true", "-Verbose"), () => GuestBooting("g1"), "the guest's boot",
                    () => Lab.Ssh.LinkDown());
                var e = r.FirstError;
                Assert.True(e != null, r.Describe());
                Assert.StartsWith("OpenBsdBuild.HostLost,", e!.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
                Assert.Contains("while guest g1 was booting", e.Exception.Message);
                Lab.Ssh.LinkUp();
                Assert.Equal(EmulatedInstanceState.Terminated, Lab.Emulator.Instances[Lab.InstanceId].State);
                Lab.AssertNothingLeft(r);
                ReliabilityDoc.Row("The link to the host drops while the guest boots", "OpenBsdBuild.HostLost naming the guest's boot, within ~20 s, not a hang", took);
            }
            finally
            {
                Lab.Ssh.LinkUp();
            }
        }

        [Fact]
        public void A_guest_that_never_boots_is_bounded_by_its_timeout_with_the_serial_tail()
        {
            // A blank disk: the firmware finds nothing to boot, and SSH never comes.
            string blank = Path.Combine(Work, "blank.img");
            Tools.Sh($"qemu-img create -q -f raw {blank} 64M");
            using var ps = new PsSession();
            var r = ps.Run($"Invoke-OpenBsdBuild {Lab.Launch} -Image '{blank}' -TrustHostKey -KeyFile '{Image.KeyFile}' -Memory 256MB -CpuCount 1 -BootTimeout 00:00:12 -Accelerator tcg -Command true -Verbose");
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.GuestNotReady,", e!.FullyQualifiedErrorId);
            Assert.Contains("Last serial console lines", e.Exception.Message);
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("A guest that never boots", "OpenBsdBuild.GuestNotReady after -BootTimeout, with the serial console tail", CleanupTime(r));
        }

        [Fact]
        public void The_link_to_the_host_dropping_mid_build_fails_clearly_instead_of_hanging()
        {
            using var ps = new PsSession();
            try
            {
                var (r, took) = FaultWhen(ps, OneShot("echo started; sleep 300", "-Verbose"), () => BuildRuns("g1"), "the running build",
                    () => Lab.Ssh.LinkDown());
                var e = r.FirstError;
                Assert.True(e != null, r.Describe());
                Assert.StartsWith("OpenBsdBuild.GuestLost,", e!.FullyQualifiedErrorId);
                Assert.Contains("did not answer either", e.Exception.Message);
                Lab.Ssh.LinkUp();
                // EC2 took the instance, and its QEMU with it (the lab's booter ends what ran on the namespace).
                Assert.Equal(EmulatedInstanceState.Terminated, Lab.Emulator.Instances[Lab.InstanceId].State);
                Lab.AssertNothingLeft(r);
                ReliabilityDoc.Row("The link to the host drops mid-build", "OpenBsdBuild.GuestLost within the watchdog's ~20 s, not a hang", took);
            }
            finally
            {
                Lab.Ssh.LinkUp();
            }
        }

        [Fact]
        public void A_preflight_refusal_is_one_clear_error_and_everything_is_removed()
        {
            using var ps = new PsSession();
            string guest = Guest.Replace("-MinFreeSpace 64MB", "-MinFreeSpace 1PB");
            var r = ps.Run($"Invoke-OpenBsdBuild {Lab.Launch} {guest} -GuestName g1 -WorkingDirectory /usr/obj/g1 -Path '{Sources()}' -Command true -Verbose");
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.PreflightFreeSpace,", e!.FullyQualifiedErrorId);
            Assert.Empty(r.All<GuestBuildResult>());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("The preflight refuses", "OpenBsdBuild.PreflightFreeSpace before the sources are sent", CleanupTime(r));
        }
    

        [Fact]
        public void ErrorAction_Stop_on_a_failing_build_without_KeepHostOnFailure_leaves_nothing()
        {
            using var ps = new PsSession();
            var r = ps.Run($"try {{ {OneShot("exit 4")} -ErrorAction Stop; $reached = $true }} catch {{ $caught = $_ }}");
            Assert.StartsWith("OpenBsdBuild.BuildFailed,", ps.Run("$caught.FullyQualifiedErrorId").Output.Single()?.ToString());
            Assert.Null(ps.Run("$reached").Output.Single());
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("Invoke-OpenBsdBuild -ErrorAction Stop: the build fails", "OpenBsdBuild.BuildFailed (terminating)", null, "– (removed before the error is written)");
        }

        /// <summary>Invoke-OpenBsdBuild whose link to the host dies once <paramref name="reached"/> holds: GuestLost naming the phase, and EC2 ends the rest.</summary>
        private void LinkDiesInInvokeOpenBsdBuild(string script, Func<bool> reached, string phase, string row) =>
            LinkDies(script, reached, phase, r =>
            {
                var e = r.FirstError;
                Assert.True(e != null, r.Describe());
                Assert.StartsWith("OpenBsdBuild.GuestLost,", e!.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
                Assert.Contains($"was lost during the {phase}", e.Exception.Message);
            }, row, $"OpenBsdBuild.GuestLost naming the {phase}, within ~20 s, not a hang");

        [Fact]
        public void The_link_to_the_host_dropping_in_the_preflight_is_GuestLost_and_nothing_is_left()
        {
            // Hit on purpose: the start's last host command (recording the connected guest) waits until the guest parks the
            // preflight's first command (the working directory's, known by its OBB_RUN_ID input); the link goes down while
            // that command is in flight, so the build is in its preflight whatever the machine's load.
            using var recording = HoldOnHost("*'\"hostKeyFingerprint\":\"SHA256'*");
            bool parking = false;
            LinkDiesInInvokeOpenBsdBuild(OneShot("true"), () =>
            {
                if (!parking && recording.Reached)
                {
                    ParkInGuest("g1", "*OBB_RUN_ID=*");
                    recording.Release();
                    parking = true;
                }
                return parking && ParkedInGuest("g1");
            }, "preflight", "Invoke-OpenBsdBuild: the link to the host drops in the preflight");
        }

        [Fact]
        public void The_link_to_the_host_dropping_during_the_source_upload_is_GuestLost_and_nothing_is_left()
        {
            BigSources();
            LinkDiesInInvokeOpenBsdBuild(OneShot("true"), () => GuestKiB("g1") > 2048, "upload of the sources", "Invoke-OpenBsdBuild: the link to the host drops during the source upload");
        }

        [Fact]
        public void The_link_to_the_host_dropping_during_the_artifact_download_is_GuestLost_and_no_artifact_is_left()
        {
            LinkDiesInInvokeOpenBsdBuild(OneShot("head -c 24000000 /dev/urandom > big.bin", "-Artifact big.bin"), () => PartialArtifacts() > (1 << 20), "download of the artifacts",
                "Invoke-OpenBsdBuild: the link to the host drops during the artifact download");
            Assert.False(File.Exists(Path.Combine(Artifacts, "big.bin")));
        }
    }
}
