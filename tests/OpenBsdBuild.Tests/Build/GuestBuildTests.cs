using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Build
{
    /// <summary>Invoke-GuestBuild against the real test guest: failures, diagnosis, artifacts, secrets, timeouts.</summary>
    [Collection(SharedGuestCollection.Name)]
    public class GuestBuildTests : IDisposable
    {
        private readonly SharedGuest _shared;
        private readonly PsSession _ps;
        private readonly string _dest = Directory.CreateTempSubdirectory("obb-build-").FullName;

        public GuestBuildTests(SharedGuest shared)
        {
            _shared = shared;
            _ps = shared.NewSession();
        }

        private PsResult Build(string args) => _ps.Run($"$guest | Invoke-GuestBuild -Destination '{_dest}' {args}");

        private static ErrorRecord Error(PsResult r, string id, ErrorCategory category)
        {
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith($"OpenBsdBuild.{id},", e!.FullyQualifiedErrorId);
            Assert.Equal(category, e.CategoryInfo.Category);
            return e;
        }

        [Fact]
        public void A_failing_command_is_a_terminating_error_carrying_the_last_lines()
        {
            var r = Build("-Command 'echo compiling; echo \"error: widget.c:3: expected ;\" >&2; exit 3'");
            Assert.True(r.FirstError?.FullyQualifiedErrorId.StartsWith("OpenBsdBuild.BuildFailed") == true, r.FirstError?.Exception.InnerException?.ToString());
            var e = Error(r, "BuildFailed", ErrorCategory.InvalidResult);
            var result = Assert.IsType<GuestBuildResult>(e.TargetObject);
            Assert.Equal(3, result.ExitCode);
            Assert.False(result.Succeeded);
            Assert.Contains("exited with code 3", e.Exception.Message);
            Assert.Contains("error: widget.c:3: expected ;", e.Exception.Message);
            Assert.Contains("compiling", File.ReadAllText(result.LogPath!));
        }

        [Fact]
        public void A_full_file_system_is_diagnosed_first_and_names_the_mount()
        {
            // The guest's /tmp is a 32 MB tmpfs, like OpenBSD's small /tmp that fooled compilers.
            var r = Build("-Command 'dd if=/dev/zero of=/tmp/fill bs=1M count=64; s=$?; rm -f /tmp/fill; exit $s' -WorkingDirectory /usr/obj/fulltest");
            var e = Error(r, "BuildFailed", ErrorCategory.InvalidResult);
            var result = (GuestBuildResult)e.TargetObject;
            Assert.StartsWith("The build reported a full disk", result.Diagnosis);
            Assert.StartsWith(result.Diagnosis!, e.Exception.Message);
            Assert.Contains("No space left on device", result.Diagnosis);

            // Still full when diagnosed: df confirms and the message names the mount.
            var r2 = Build("-Command 'dd if=/dev/zero of=/tmp/fill2 bs=1M count=64' -WorkingDirectory /usr/obj/fulltest");
            var d2 = ((GuestBuildResult)Error(r2, "BuildFailed", ErrorCategory.InvalidResult).TargetObject).Diagnosis!;
            _ps.Run("$guest | Invoke-GuestBuild -Command 'rm -f /tmp/fill2' -Destination '" + _dest + "'");
            Assert.StartsWith("The file system /tmp (100% used", d2);
        }

        [Fact]
        public void A_missing_first_command_fails_preflight_before_anything_is_sent()
        {
            var r = Build("-Command 'cargo build --release' -Path '" + Repo.Root + "/docs' -WorkingDirectory /usr/obj/preflight-cmd");
            var e = Error(r, "PreflightCommandNotFound", ErrorCategory.ObjectNotFound);
            Assert.Equal("cargo", e.TargetObject);
            Assert.Contains("pkg_add cargo", e.ErrorDetails.RecommendedAction);
            Assert.Empty(Ls("/usr/obj/preflight-cmd"));
        }

        [Fact]
        public void A_command_missing_later_in_the_script_is_diagnosed_after_the_run()
        {
            var r = Build("-Command 'echo starting; cargo build --release'");
            var result = (GuestBuildResult)Error(r, "BuildFailed", ErrorCategory.InvalidResult).TargetObject;
            Assert.StartsWith("A command was not found in the guest", result.Diagnosis);
            Assert.Equal(127, result.ExitCode);
        }

        [Fact]
        public void Too_little_free_space_fails_preflight_before_anything_is_sent()
        {
            var r = Build("-Command true -Path '" + Repo.Root + "/docs' -MinFreeSpace 2GB -WorkingDirectory /usr/obj/preflight-space");
            var e = Error(r, "PreflightFreeSpace", ErrorCategory.LimitsExceeded);
            Assert.Contains("-MinFreeSpace", e.Exception.Message);
            Assert.Empty(Ls("/usr/obj/preflight-space"));
        }

        [Fact]
        public void A_small_tmp_gets_a_warning_and_a_roomy_TMPDIR()
        {
            var r = Build("-Command 'echo \"tmp=$TMPDIR\"' -MinFreeSpace 100MB -WorkingDirectory /usr/obj/tmpdir");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains(r.Warnings, w => w.Message.StartsWith("/tmp has only"));
            Assert.Contains(r.Information, i => i.MessageData.ToString() == "tmp=/usr/obj/tmpdir.tmp");
        }

        [Fact]
        public void Out_of_memory_is_diagnosed()
        {
            var r = Build("-Command 'ulimit -v 30000; dd if=/dev/zero of=/dev/null bs=200M count=1'");
            var result = (GuestBuildResult)Error(r, "BuildFailed", ErrorCategory.InvalidResult).TargetObject;
            Assert.StartsWith("The build ran out of memory or hit the data-size limit", result.Diagnosis);
        }

        [Fact]
        public void User_root_builds_as_root_and_verbose_lines_carry_timing()
        {
            var r = Build("-Command 'id -un' -User root -Verbose");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains(r.Information, i => i.MessageData.ToString() == "root");
            Assert.Contains(r.Verbose, v => System.Text.RegularExpressions.Regex.IsMatch(v.Message, @"^\[\d\d:\d\d:\d\d\.\d{3}\] stdout: root$"));
        }

        [Fact]
        public void An_archive_is_unpacked_in_the_working_directory()
        {
            string dir = Path.Combine(_dest, "tree");
            Directory.CreateDirectory(Path.Combine(dir, "sub"));
            File.WriteAllText(Path.Combine(dir, "sub", "data.txt"), "from the archive\n");
            Tools.Sh($"tar czf {_dest}/src.tar.gz -C {dir} .");
            var r = Build($"-Archive '{_dest}/src.tar.gz' -Command 'cat sub/data.txt'");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains(r.Information, i => i.MessageData.ToString() == "from the archive");
        }

        [Fact]
        public void Long_paths_and_modes_survive_the_tar_stream_into_busybox_tar()
        {
            string deep = string.Join("/", Enumerable.Range(0, 8).Select(i => "directory-level-" + i));
            string dir = Path.Combine(_dest, "src", deep);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "a-file-with-a-rather-long-name-to-pass-one-hundred.txt"), "deep\n");
            File.WriteAllText(Path.Combine(_dest, "src", "run.sh"), "#!/bin/sh\necho ran\n");
            Tools.Sh($"chmod 755 '{Path.Combine(_dest, "src", "run.sh")}'");
            var r = Build($"-Path '{_dest}/src' -Command './run.sh && cat {deep}/a-file-with-a-rather-long-name-to-pass-one-hundred.txt'");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains(r.Information, i => i.MessageData.ToString() == "ran");
            Assert.Contains(r.Information, i => i.MessageData.ToString() == "deep");
        }

        [Fact]
        public void GitUrl_needs_git_in_the_guest_and_says_so()
        {
            var r = Build("-GitUrl https://example.invalid/repo.git -Command true");
            var e = Error(r, "GitCloneFailed", ErrorCategory.NotInstalled);
            Assert.Contains("pkg_add git", e.ErrorDetails.RecommendedAction);
        }

        [Fact]
        public void CtrlC_kills_the_remote_build_before_the_cmdlet_returns()
        {
            var running = _ps.RunAsync($"$guest | Invoke-GuestBuild -Destination '{_dest}' -Command 'echo started; sleep 120; echo never' -WorkingDirectory /usr/obj/ctrlc");
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!Ls("/usr/obj").Contains("ctrlc.pid") && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(200);
            _ps.Stop();
            // Only a hang guard: the kill in the guest has 15 s of its own (BuildRunner), which a loaded machine may use.
            Assert.True(running.Wait(TimeSpan.FromSeconds(60)), "Ctrl+C never returned");
            var r = running.Result;
            Assert.True(r.Stopped, r.Describe());
            Assert.Empty(r.All<GuestBuildResult>());
            Assert.DoesNotContain("sleep 120", GuestSh("ps"));
        }

        private string[] Ls(string dir) => GuestSh($"ls -A {dir} 2>/dev/null").Split('\n', StringSplitOptions.RemoveEmptyEntries);

        /// <summary>Runs a command in the shared guest with plain ssh, independent of the module.</summary>
        private string GuestSh(string command) =>
            Tools.Sh($"ssh -q -i {_shared.Image.KeyFile} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p {_shared.Guest.SshPort} root@127.0.0.1 '{command}'", allowFailure: true);

        [Fact]
        public void An_artifact_pattern_that_matches_nothing_names_it_and_lists_the_directory()
        {
            var r = Build("-Command 'mkdir -p target; echo x > target/app; echo y > README' -Artifact 'target/release/*' -WorkingDirectory /usr/obj/nomatch");
            var e = Error(r, "ArtifactNotFound", ErrorCategory.ObjectNotFound);
            Assert.Equal("target/release/*", e.TargetObject);
            Assert.Contains("README", e.Exception.Message);
            Assert.Contains("target", e.Exception.Message);
        }

        [Fact]
        public void A_file_that_changes_between_hash_and_download_is_rejected_and_deleted()
        {
            // Something keeps appending after the build "finished": the guest's hash and the bytes that arrive disagree.
            var r = Build("-Command 'mkdir -p out; : > out/grow.log; (end=$(($(date +%s)+8)); while [ $(date +%s) -lt $end ]; do echo more >> out/grow.log; done) >/dev/null 2>&1 &' " +
                          "-Artifact out/grow.log -WorkingDirectory /usr/obj/growing");
            var e = Error(r, "ArtifactChecksumMismatch", ErrorCategory.InvalidData);
            Assert.Contains("was deleted", e.Exception.Message);
            Assert.False(File.Exists(Path.Combine(_dest, "grow.log")));
            Assert.Empty(Directory.GetFiles(_dest, "*.partial", SearchOption.AllDirectories));
        }

        [Fact]
        public void Secrets_reach_the_build_but_never_the_output_or_log()
        {
            var r = _ps.Run("$s = [System.Net.NetworkCredential]::new('', 'hunter2-s3cr3t').SecurePassword; " +
                            $"$guest | Invoke-GuestBuild -Destination '{_dest}' -Secret @{{ API_TOKEN = $s }} -Environment @{{ GREETING = 'hi there' }} " +
                            "-Command 'echo \"token=$API_TOKEN greeting=$GREETING\"; [ \"$API_TOKEN\" = hunter2-s3cr3t ]' -Verbose");
            Assert.False(r.HadErrors, r.Describe());
            var result = r.Single<GuestBuildResult>();
            Assert.Contains(r.Information, i => i.MessageData.ToString() == "token=*** greeting=hi there");
            Assert.DoesNotContain("hunter2", File.ReadAllText(result.LogPath!));
            Assert.DoesNotContain(r.Information, i => i.MessageData.ToString()!.Contains("hunter2"));
            Assert.DoesNotContain(r.Verbose, v => v.Message.Contains("hunter2"));
        }

        [Fact]
        public void A_timeout_kills_the_whole_remote_process_group()
        {
            var r = Build("-Command 'sleep 300 & sleep 301; echo never' -Timeout 00:00:03 -WorkingDirectory /usr/obj/timeout");
            var e = Error(r, "BuildTimedOut", ErrorCategory.OperationTimeout);
            Assert.Contains("timeout and was killed", e.Exception.Message);
            var ps = _ps.Run($"$guest | Invoke-GuestBuild -Destination '{_dest}' -Command 'ps | grep -c \"[s]leep 30\" || true'");
            Assert.Contains(ps.Information, i => i.MessageData.ToString() == "0");
        }

        [Fact]
        public void Bad_parameters_are_rejected_before_anything_runs()
        {
            var r = Build("-Command true -WorkingDirectory relative/dir");
            Error(r, "InvalidParameter.WorkingDirectory", ErrorCategory.InvalidArgument);
            var r2 = Build("-Command true -Path /nonexistent/src");
            Error(r2, "InvalidParameter.Path", ErrorCategory.InvalidArgument);
            var r3 = Build("-Command true -Environment @{ 'BAD-NAME' = 1 }");
            Error(r3, "InvalidParameter.Environment", ErrorCategory.InvalidArgument);
        }

        public void Dispose()
        {
            _ps.Dispose();
            Directory.Delete(_dest, true);
        }
    }
}
