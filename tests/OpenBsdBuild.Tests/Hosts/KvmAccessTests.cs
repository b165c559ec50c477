using System;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Hosts;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Hosts
{
    /// <summary>
    /// KVM access on a host as Ubuntu 24.04 sets it up (/dev/kvm root:kvm 0660, the cloud user not in
    /// kvm), through a real sshd: the probe names the fix, notices a group that the running login does
    /// not have yet, and a guest that falls back to TCG says so.
    /// </summary>
    public sealed class KvmAccessTests
    {
        [Fact]
        public async Task The_probe_names_the_fix_and_sees_that_a_group_added_later_reaches_only_new_logins()
        {
            using var ssh = new NetnsSshHost(ubuntuLogin: true);
            var target = new SshTarget(ssh.Address, 22, ssh.User, ssh.KeyFile, HostKeyPolicy.Pinned(new[] { ssh.HostKeyFingerprint }));
            var host = await HostConnector.ConnectSshAsync(target, ssh.StateDirectory, NullReporter.Instance, CancellationToken.None);
            try
            {
                Assert.Equal("tcg", host.Accelerator);
                Assert.Equal(KvmState.NoAccess, host.Capabilities.Kvm);
                Assert.Contains("/dev/kvm is root:kvm mode 660", host.Capabilities.KvmProblem);
                Assert.Contains($"sudo usermod -aG kvm {ssh.User}", host.Capabilities.KvmProblem);

                Tools.Sh($"usermod -aG kvm {ssh.User}");
                var same = await HostProbe.ProbeAsync(host.Shell, CancellationToken.None);
                Assert.Equal(KvmState.NotInThisSession, same.Kvm);
                Assert.Equal("tcg", same.NativeAccelerator);
                Assert.Contains("connect again", same.KvmProblem);
            }
            finally
            {
                host.Shell.Dispose();
            }

            var again = await HostConnector.ConnectSshAsync(target, ssh.StateDirectory, NullReporter.Instance, CancellationToken.None);
            using (again.Shell)
            {
                Assert.Equal(KvmState.Usable, again.Capabilities.Kvm);
                Assert.Equal("kvm", again.Accelerator);
                Assert.Null(again.Capabilities.KvmProblem);
            }
        }

        [Fact]
        public void A_guest_that_falls_back_to_TCG_on_an_ssh_host_warns_and_names_the_consequence()
        {
            using var ssh = new NetnsSshHost(ubuntuLogin: true);
            string image = ssh.StateDirectory + "/blank.qcow2"; // no metadata: a guest of the host's own architecture
            Tools.Sh($"qemu-img create -q -f qcow2 '{image}' 64M && chown {ssh.User} '{image}'");
            using var ps = new PsSession();
            // Firmware that is not there stops the start right after the accelerator was chosen.
            var r = ps.Run($"{ssh.ConnectCommand} | Start-OpenBsdGuest -Image '{image}' -TrustHostKey -KeyFile '{ssh.KeyFile}' -FirmwareCode /nonexistent/code.fd -FirmwareVars /nonexistent/vars.fd");
            // The other warning: the host the failed start never passed on is disconnected (docs/reliability.md).
            var warning = Assert.Single(r.Warnings, w => w.Message.Contains("kvm")).Message;
            Assert.Contains(r.Warnings, w => w.Message.StartsWith("Connect-MetalHost: no later stage took them; disconnected from", StringComparison.Ordinal));
            Assert.Contains($"is not in group kvm (run 'sudo usermod -aG kvm {ssh.User}'", warning);
            Assert.Contains("runs under TCG, software emulation about ten times slower than KVM", warning);
            Assert.Contains("-Accelerator tcg", warning);
            Assert.StartsWith("OpenBsdBuild.FirmwareNotFound,", r.FirstError!.FullyQualifiedErrorId);
        }
    }
}
