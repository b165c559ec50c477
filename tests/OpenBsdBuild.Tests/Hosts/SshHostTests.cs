using System.IO;
using System.Management.Automation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Hosts
{
    /// <summary>Connect-MetalHost against a real OpenSSH sshd in a network namespace.</summary>
    public class SshHostTests : IClassFixture<SshHostTests.Host>
    {
        public sealed class Host : System.IDisposable
        {
            public NetnsSshHost Ssh { get; } = new NetnsSshHost();
            public void Dispose() => Ssh.Dispose();
        }

        private readonly NetnsSshHost _ssh;
        public SshHostTests(Host host) => _ssh = host.Ssh;

        [Fact]
        public void Pinned_host_key_connects_and_probes_the_machine()
        {
            using var ps = new PsSession();
            var r = ps.Run($"$h = {_ssh.ConnectCommand}; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe());
            var host = r.Single<MetalHost>();
            Assert.Equal(HostProvider.Ssh, host.Provider);
            Assert.Equal(_ssh.HostKeyFingerprint, host.HostKeyFingerprint);
            Assert.NotNull(host.Capabilities.QemuImg);
            Assert.Equal("Removed", host.State);
        }

        [Fact]
        public void Wrong_host_key_is_refused_with_both_fingerprints_in_the_message()
        {
            using var ps = new PsSession();
            string wrong = "SHA256:" + new string('A', 43);
            var r = ps.Run($"Connect-MetalHost -HostName {_ssh.Address} -User root -KeyFile '{_ssh.KeyFile}' -HostKeyFingerprint {wrong}");
            var e = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild.HostKeyMismatch,", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.SecurityError, e.CategoryInfo.Category);
            Assert.Contains(_ssh.HostKeyFingerprint, e.Exception.Message);
            Assert.Contains(wrong, e.Exception.Message);
            Assert.Empty(r.Output);
        }

        [Fact]
        public void A_key_the_host_does_not_authorize_is_an_authentication_error()
        {
            using var ps = new PsSession();
            string other = Path.Combine(_ssh.Directory, "other_key");
            Tools.Sh($"rm -f {other} {other}.pub; ssh-keygen -q -t ed25519 -N '' -f {other}");
            var r = ps.Run($"Connect-MetalHost -HostName {_ssh.Address} -User root -KeyFile '{other}' -HostKeyFingerprint {_ssh.HostKeyFingerprint}");
            var e = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild.AuthenticationFailed,", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.AuthenticationError, e.CategoryInfo.Category);
        }

        [Fact]
        public void Nobody_listening_is_a_connection_error()
        {
            using var ps = new PsSession();
            var r = ps.Run($"Connect-MetalHost -HostName {_ssh.Address} -Port 2 -User root -KeyFile '{_ssh.KeyFile}' -TrustHostKey");
            var e = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild.HostUnreachable,", e.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
        }
    }
}
