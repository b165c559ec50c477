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
    /// <summary>Invoke-GuestBuild against a real sshd in a network namespace: git sources, many files, a link that dies.</summary>
    public class RemoteBuildTests : IClassFixture<RemoteBuildTests.Target>, IDisposable
    {
        public sealed class Target : IDisposable
        {
            public SshBuildTarget Ssh { get; } = new SshBuildTarget();
            public void Dispose() => Ssh.Dispose();
        }

        private readonly SshBuildTarget _target;
        private readonly PsSession _ps = new PsSession();
        private readonly string _work = Directory.CreateTempSubdirectory("obb-remote-").FullName;

        public RemoteBuildTests(Target target)
        {
            _target = target.Ssh;
            _ps.Set("guest", _target.Guest);
        }

        [Fact]
        public void GitUrl_is_cloned_by_the_guest_at_the_requested_ref()
        {
            string repo = Path.Combine(_work, "repo");
            Tools.Sh($"git init -q -b main {repo} && cd {repo} && git config user.email t@example.org && git config user.name t && " +
                     "echo one > version.txt && git add . && git commit -qm one && git tag v1 && echo two > version.txt && git commit -qam two");
            var r = _ps.Run($"$guest | Invoke-GuestBuild -GitUrl 'file://{repo}' -Ref v1 -Command 'cat version.txt' -Destination '{_work}/out'");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains(r.Information, i => i.MessageData.ToString() == "one");
            var head = _ps.Run($"$guest | Invoke-GuestBuild -GitUrl 'file://{repo}' -Command 'cat version.txt' -Destination '{_work}/out2'");
            Assert.Contains(head.Information, i => i.MessageData.ToString() == "two");
        }

        [Fact]
        public void A_git_work_tree_sends_tracked_and_untracked_files_but_not_ignored_ones()
        {
            string tree = Path.Combine(_work, "tree");
            Directory.CreateDirectory(Path.Combine(tree, "target"));
            File.WriteAllText(Path.Combine(tree, ".gitignore"), "target/\n*.log\n");
            File.WriteAllText(Path.Combine(tree, "tracked.c"), "int main(){}\n");
            File.WriteAllText(Path.Combine(tree, "new.h"), "#pragma once\n");
            File.WriteAllText(Path.Combine(tree, "debug.log"), "noise\n");
            File.WriteAllText(Path.Combine(tree, "target", "big.o"), "object\n");
            File.WriteAllText(Path.Combine(tree, "notes.tmp"), "scratch\n");
            Tools.Sh($"cd {tree} && git init -q && git add tracked.c .gitignore");
            var r = _ps.Run($"$guest | Invoke-GuestBuild -Path '{tree}' -Exclude '*.tmp' -Command 'find . -type f | sort' -Destination '{_work}/o1'");
            Assert.False(r.HadErrors, r.Describe());
            var files = r.Information.Select(i => i.MessageData.ToString()).ToList();
            Assert.Equal(new[] { "./.gitignore", "./new.h", "./tracked.c" }, files);

            var all = _ps.Run($"$guest | Invoke-GuestBuild -Path '{tree}' -IncludeIgnored -Command 'find . -type f | sort' -Destination '{_work}/o2'");
            Assert.Contains(all.Information, i => i.MessageData.ToString() == "./target/big.o");
            Assert.Contains(all.Information, i => i.MessageData.ToString() == "./debug.log");
        }

        [Fact]
        public void A_link_that_dies_mid_build_fails_clearly_instead_of_hanging()
        {
            // A target of its own: its session does not survive this test.
            using var own = new SshBuildTarget();
            _ps.Set("own", own.Guest);
            // The "guest" shares this file system: the build's pid file beside its working directory says the build runs.
            string workingDirectory = Path.Combine(own.Namespace.Directory, "ws");
            var running = _ps.RunAsync($"$own | Invoke-GuestBuild -Command 'echo started; sleep 90' -WorkingDirectory '{workingDirectory}' -MinFreeSpace 1MB -Destination '{_work}/o3'");
            while (!File.Exists(workingDirectory + ".pid"))
            {
                Assert.False(running.IsCompleted, "the build ended before it ran: " + (running.IsCompleted ? running.Result.Describe() : ""));
                System.Threading.Thread.Sleep(50);
            }
            own.Namespace.LinkDown();
            try
            {
                // No time bound here (speed is the benchmarks'): TCP's ~15 min would end as ConnectionLost, not GuestLost,
                // and a hang is the per-test hang guard's.
                var r = running.Result;
                var e = r.FirstError;
                Assert.True(e != null, r.Describe());
                Assert.StartsWith("OpenBsdBuild.GuestLost,", e!.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
                Assert.Contains("was lost during the build", e.Exception.Message);
            }
            finally
            {
                own.Namespace.LinkUp();
            }
        }

        public void Dispose()
        {
            _ps.Dispose();
            Directory.Delete(_work, true);
        }
    }
}
