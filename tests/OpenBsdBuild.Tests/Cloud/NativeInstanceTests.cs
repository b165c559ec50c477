using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Flow;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// New-OpenBsdInstance through real parts: the real AWS SDK against the EC2 emulator, and as the
    /// instance a real QEMU guest from the test fixture image reached at its own address with no jump
    /// (<see cref="NativeInstanceLab"/>). A build on it, Ctrl+C at each stage, bad input; every test
    /// ends with nothing left in EC2 and no guest running.
    /// </summary>
    public sealed class NativeInstanceTests : IAsyncLifetime
    {
        private NativeInstanceLab _lab = null!;
        private string _work = "";

        public async Task InitializeAsync()
        {
            _lab = await NativeInstanceLab.StartAsync();
            _work = Directory.CreateTempSubdirectory("obb-native-test-").FullName;
        }

        public async Task DisposeAsync()
        {
            await _lab.DisposeAsync();
            Directory.Delete(_work, true);
        }

        private string New(string extra = "") => $"New-OpenBsdInstance {NativeInstanceLab.ImageId} {_lab.Launch} {extra}";

        private string Sources()
        {
            string src = Path.Combine(_work, "src");
            Directory.CreateDirectory(src);
            File.WriteAllText(Path.Combine(src, "build.sh"), "mkdir -p out && uname -s > out/system && echo native-build > out/result\n");
            return src;
        }

        [Fact]
        public void A_build_on_a_new_instance_brings_back_verified_artifacts_and_Remove_MetalHost_leaves_nothing()
        {
            string src = Sources();
            string dest = Path.Combine(_work, "artifacts");
            using var ps = new PsSession();
            var r = ps.Run($"$i = {New("-InstanceType c6g.xlarge -MaxLifetime 01:30:00")}; $i; Get-MetalHost {_lab.Aws}; " +
                           $"$i | Invoke-GuestBuild -Path '{src}' -Command 'sh build.sh' -Artifact out/result -MinFreeSpace 1MB -Destination '{dest}' | Remove-MetalHost -PassThru");
            Assert.False(r.HadErrors, r.Describe());
            var instance = r.Single<OpenBsdInstance>();
            Assert.Equal("c6g.xlarge", instance.InstanceType);
            Assert.Equal("build", instance.User);
            Assert.Equal(_lab.Image.HostKeyFingerprint, instance.HostKeyFingerprint);
            Assert.Equal(NativeInstanceLab.ImageId, instance.ImageId);
            Assert.True(instance.Host.Native);

            // Listed as this module's, marked native, while it ran.
            var listed = r.All<MetalHost>().Single(h => h.InstanceId == instance.InstanceId && h.State == HostState.Listed);
            Assert.True(listed.Native);

            var result = r.Single<GuestBuildResult>();
            Assert.True(result.Succeeded, result.Diagnosis);
            var artifact = Assert.Single(result.Artifacts);
            Assert.Equal("native-build\n", File.ReadAllText(artifact.FullName));
            Assert.Equal(OpenBsdBuild.Builds.Checksums.Sha256File(artifact.FullName), artifact.Sha256);

            // What New-MetalHost guarantees, on this road too.
            var launched = _lab.Emulator.Instances.Values.Single();
            Assert.Equal("required", launched.HttpTokens);
            Assert.Equal(1, launched.HttpPutResponseHopLimit);
            Assert.Equal("terminate", launched.ShutdownBehavior);
            Assert.Equal("native", launched.Tags[Ec2Tags.Road]);
            Assert.Equal("# openbsdbuild: self-destruct-minutes=90\n", launched.UserData);
            var root = _lab.Emulator.Volumes[launched.VolumeIds.Single()];
            Assert.Equal("gp3", root.VolumeType);
            Assert.True(root.Encrypted);
            var group = _lab.Emulator.Requests.Where(q => q.Action == "AuthorizeSecurityGroupIngress").Single();
            Assert.Contains(group.Parameters, p => p.Value == "198.51.100.7/32");
            // The build user logged in directly: no jump host, no forward.
            Assert.Contains(_lab.Emulator.Requests, q => q.Action == "GetConsoleOutput" && q.Parameters.TryGetValue("Latest", out var l) && l == "true");
            _lab.AssertNothingLeft(r);
        }

        [Fact]
        public void Spot_with_no_capacity_for_the_first_type_falls_back_zone_by_zone_then_to_the_next_type_and_says_so()
        {
            _lab.Emulator.InsufficientCapacity("c6g.xlarge");
            using var ps = new PsSession();
            var r = ps.Run($"$i = {New("-InstanceType c6g.xlarge, m6g.xlarge -Spot")}; $i; $i | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe());
            var instance = r.Single<OpenBsdInstance>();
            Assert.Equal("m6g.xlarge", instance.InstanceType);
            Assert.True(instance.Host.Spot);
            var launched = _lab.Emulator.Instances.Values.Single();
            Assert.True(launched.IsSpot);
            Assert.Equal("m6g.xlarge", launched.InstanceType);
            string warning = Assert.Single(r.Warnings).Message;
            Assert.Contains("c6g.xlarge in us-east-1a (spot): InsufficientInstanceCapacity", warning);
            _lab.AssertNothingLeft(r);
        }

        [Fact]
        public void The_user_data_asks_the_agent_for_the_self_destruct_in_whole_minutes_rounded_up()
        {
            // The agent's own sed expression (Images/Scripts/openbsdbuild-agent.ksh) must find the minutes in it.
            string file = Path.Combine(_work, "user-data");
            File.WriteAllText(file, NativeInstanceLauncher.UserData(TimeSpan.FromMinutes(89.5)));
            string found = Tools.Sh($"sed -n 's/^#[[:space:]]*openbsdbuild:[[:space:]]*self-destruct-minutes=\\([0-9][0-9]*\\)[[:space:]]*$/\\1/p' '{file}'");
            Assert.Equal("90", found.Trim());
            Assert.Contains("self-destruct-minutes=", File.ReadAllText(Path.Combine(Repo.Root, "src/OpenBsdBuild.Engine/Images/Scripts/openbsdbuild-agent.ksh")));
        }

        [Fact]
        public void A_Graviton3_type_is_refused_with_the_reason_unless_Force()
        {
            using var ps = new PsSession();
            var r = ps.Run(New("-InstanceType c7g.xlarge"));
            var error = r.FirstError;
            Assert.True(error != null, r.Describe());
            Assert.Equal(ErrorCategory.InvalidArgument, error!.CategoryInfo.Category);
            Assert.Equal("c7g.xlarge", error.TargetObject);
            Assert.Contains("CREATE_CQ", error.Exception.Message);
            Assert.Contains("-Force", error.ErrorDetails.RecommendedAction);
            Assert.Empty(_lab.Emulator.Instances);
            Assert.Empty(_lab.Emulator.KeyPairs);

            // -Force lets it through (with a warning); -WhatIf shows it without launching anything.
            var forced = ps.Run(New("-InstanceType c7g.xlarge -Force -WhatIf"));
            Assert.False(forced.HadErrors, forced.Describe());
            Assert.Contains(forced.Warnings, w => w.Message.Contains("c7g.xlarge") && w.Message.Contains("ena(4)"));
            Assert.Empty(_lab.Emulator.Instances);
            _lab.AssertNothingLeft(forced);
        }

        [Theory]
        [InlineData("ami-0123456789abcdef0", "-InstanceType c6g.xlarge", "ami-0123456789abcdef0", "no such image")]
        [InlineData(NativeInstanceLab.Amd64ImageId, "-InstanceType c6g.xlarge", "c6g.xlarge", "is arm64, but image")]
        [InlineData(NativeInstanceLab.ImageId, "-InstanceType c6g.xlarge,no.such", "no.such", "is not an EC2 instance type")]
        public void Bad_input_is_refused_before_anything_is_created(string image, string extra, string target, string message)
        {
            using var ps = new PsSession();
            var r = ps.Run($"New-OpenBsdInstance {image} {_lab.Launch} {extra}");
            var error = r.FirstError;
            Assert.True(error != null, r.Describe());
            Assert.Equal(ErrorCategory.InvalidArgument, error!.CategoryInfo.Category);
            Assert.Equal(target, error.TargetObject?.ToString());
            Assert.Contains(message, error.Exception.Message);
            Assert.False(string.IsNullOrEmpty(error.ErrorDetails?.RecommendedAction));
            Assert.Empty(_lab.Emulator.Instances);
            Assert.Empty(_lab.Emulator.KeyPairs);
            Assert.DoesNotContain(_lab.Emulator.SecurityGroups.Values, g => !g.IsDefault);
        }

        [Fact]
        public void CtrlC_while_the_instance_is_pending_leaves_nothing()
        {
            _lab.Emulator.StuckPending(true);
            using var ps = new PsSession();
            var r = CancelWhen(ps, New(), () => _lab.Emulator.Instances.Count > 0, "the launch");
            Assert.Empty(r.All<OpenBsdInstance>());
            _lab.Emulator.StuckPending(false);
            _lab.AssertNothingLeft(r);
        }

        [Fact]
        public void CtrlC_while_waiting_for_the_console_fingerprints_leaves_nothing()
        {
            _lab.BootInstances = false; // running, but its console stays empty
            using var ps = new PsSession();
            var r = CancelWhen(ps, New(), () => _lab.Emulator.CountOf("GetConsoleOutput") > 0, "the console wait");
            Assert.Empty(r.All<OpenBsdInstance>());
            _lab.AssertNothingLeft(r);
        }

        [Fact]
        public void CtrlC_during_the_build_terminates_the_instance_and_leaves_nothing()
        {
            string src = Sources();
            using var ps = new PsSession();
            var r = CancelWhen(ps, $"{New()} | Invoke-GuestBuild -Path '{src}' -Command 'echo started; sleep 300' -MinFreeSpace 1MB -Destination '{_work}/a' | Remove-MetalHost",
                () => File.Exists($"{_work}/a/build.log") && File.ReadAllText($"{_work}/a/build.log").Contains("started"), "the build");
            Assert.Empty(r.All<GuestBuildResult>());
            Assert.Contains("removed what it had made", r.HostText);
            _lab.AssertNothingLeft(r);
        }

        [Fact]
        public void Invoke_OpenBsdBuild_Native_launches_builds_and_terminates_in_one_call()
        {
            string src = Sources();
            using var ps = new PsSession();
            var r = ps.Run($"Invoke-OpenBsdBuild -Native -ImageId {NativeInstanceLab.ImageId} {_lab.Launch} -InstanceType t4g.xlarge " +
                           $"-Path '{src}' -Command 'sh build.sh' -Artifact out/result -MinFreeSpace 1MB -Destination '{_work}/one-shot'");
            Assert.False(r.HadErrors, r.Describe());
            var result = r.Single<GuestBuildResult>();
            Assert.True(result.Succeeded, result.Diagnosis);
            Assert.IsType<OpenBsdInstance>(result.Guest);
            Assert.Equal("native-build\n", File.ReadAllText(Assert.Single(result.Artifacts).FullName));
            Assert.Equal("t4g.xlarge", _lab.Emulator.Instances.Values.Single().InstanceType);
            Assert.Contains(r.Information, i => i.MessageData.ToString()!.StartsWith("Removed ", StringComparison.Ordinal));
            _lab.AssertNothingLeft(r);
        }

        [Fact]
        public void Invoke_OpenBsdBuild_Native_refuses_what_only_a_guest_uses_and_needs_an_AMI()
        {
            using var ps = new PsSession();
            var r = ps.Run($"Invoke-OpenBsdBuild -Native -ImageId {NativeInstanceLab.ImageId} {_lab.Launch} -Command true -Memory 4GB");
            Assert.Equal("OpenBsdBuild.InvalidParameter.Memory", r.FirstError?.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains("-Native", r.FirstError!.Exception.Message);
            var noAmi = ps.Run($"Invoke-OpenBsdBuild -Native {_lab.Launch} -Command true");
            Assert.Equal("OpenBsdBuild.InvalidParameter.ImageId", noAmi.FirstError?.FullyQualifiedErrorId.Split(',')[0]);
            var both = ps.Run($"Invoke-OpenBsdBuild -Native -Image ./x.qcow2 -ImageId {NativeInstanceLab.ImageId} {_lab.Launch} -Command true");
            Assert.Contains("AmbiguousParameterSet", both.FirstError?.FullyQualifiedErrorId);
            Assert.Empty(_lab.Emulator.Instances);
        }

        [Fact]
        public void An_instance_ended_underneath_leaves_a_group_and_key_that_Orphaned_lists_and_Remove_MetalHost_deletes()
        {
            using var ps = new PsSession();
            var r = ps.Run($"$i = {New()}; $i");
            Assert.False(r.HadErrors, r.Describe());
            var instance = r.Single<OpenBsdInstance>();
            _lab.Emulator.TerminateUnderneath(instance.InstanceId!);
            var orphans = ps.Run($"Get-MetalHost -Orphaned {_lab.Aws}");
            Assert.False(orphans.HadErrors, orphans.Describe());
            var leftovers = orphans.All<Ec2Leftover>().ToList();
            Assert.Equal(new[] { "KeyPair", "SecurityGroup" }, leftovers.Select(l => l.Kind).OrderBy(k => k, StringComparer.Ordinal));
            Assert.All(leftovers, l => Assert.Equal(instance.Host.RunId, l.RunId));
            var removed = ps.Run($"Get-MetalHost -Orphaned {_lab.Aws} | Remove-MetalHost");
            Assert.False(removed.HadErrors, removed.Describe());
            _lab.AssertNothingLeft(removed);
        }

        /// <summary>Runs <paramref name="script"/>, presses Ctrl+C once <paramref name="reached"/> holds, and returns the stopped run.</summary>
        internal static PsResult CancelWhen(PsSession ps, string script, Func<bool> reached, string stage)
        {
            var running = ps.RunAsync(script);
            // TCG boots are slow on a busy machine: the bound only catches a hang.
            var clock = Stopwatch.StartNew();
            while (!reached())
            {
                Assert.False(running.IsCompleted, $"finished before {stage}: " + (running.IsCompleted ? running.Result.Describe() : ""));
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(10), $"never reached {stage}");
                Thread.Sleep(200);
            }
            ps.Stop();
            Assert.True(running.Wait(TimeSpan.FromMinutes(3)), $"Ctrl+C at {stage} never returned");
            var r = running.Result;
            Assert.True(r.Stopped, $"Ctrl+C at {stage} did not stop the pipeline: " + r.Describe());
            return r;
        }
    }
}
