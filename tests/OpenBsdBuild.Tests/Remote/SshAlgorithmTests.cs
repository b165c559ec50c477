using System.Linq;
using System.Threading.Tasks;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using Renci.SshNet;
using Xunit;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>What SshShell offers, and what a real dropbear guest and a real OpenSSH host then negotiate (docs/transfers.md).</summary>
    [Collection(SharedGuestCollection.Name)]
    public class SshAlgorithmTests
    {
        private readonly SharedGuest _shared;
        public SshAlgorithmTests(SharedGuest shared) => _shared = shared;

        [Fact]
        public void Only_algorithms_OpenSSH_enables_are_offered_chacha20_first()
        {
            var info = new ConnectionInfo("h", "u", new NoneAuthenticationMethod("u"));
            SshAlgorithms.Apply(info);
            Assert.Equal(SshAlgorithms.Ciphers, info.Encryptions.Keys);
            Assert.Equal("chacha20-poly1305@openssh.com", info.Encryptions.Keys.First());
            Assert.Equal(SshAlgorithms.Macs, info.HmacAlgorithms.Keys);
            Assert.DoesNotContain(info.Encryptions.Keys, k => k.Contains("cbc"));
            Assert.DoesNotContain(info.HmacAlgorithms.Keys, k => k.Contains("sha1"));
            Assert.DoesNotContain(info.KeyExchangeAlgorithms.Keys, k => k.EndsWith("sha1"));
            Assert.DoesNotContain("ssh-rsa", info.HostKeyAlgorithms.Keys);
            Assert.Contains("ssh-ed25519", info.HostKeyAlgorithms.Keys);
            Assert.Equal(new[] { "none" }, info.CompressionAlgorithms.Keys);
        }

        [Fact]
        public void A_Linux_host_is_offered_AES_CTR_first_and_the_same_safe_set()
        {
            var info = new ConnectionInfo("h", "u", new NoneAuthenticationMethod("u"));
            SshAlgorithms.Apply(info, SshFarEnd.LinuxHost);
            Assert.Equal(SshAlgorithms.HostCiphers, info.Encryptions.Keys);
            Assert.Equal("aes128-ctr", info.Encryptions.Keys.First());
            Assert.Equal("hmac-sha2-256-etm@openssh.com", info.HmacAlgorithms.Keys.First());
            Assert.Equal(SshAlgorithms.Ciphers.OrderBy(c => c), SshAlgorithms.HostCiphers.OrderBy(c => c));
        }

        [Fact]
        public async Task The_test_guest_negotiates_chacha20_poly1305()
        {
            using var shell = await SshShell.ConnectAsync(_shared.Target, default);
            Assert.Equal(("chacha20-poly1305@openssh.com", "(aead)"), shell.Negotiated);
        }

        [Fact]
        public void The_test_guest_opens_the_receive_window_OpenBSDs_sshd_opens()
        {
            // OpenBSD's sshd gives a session channel 2 MB (docs/compatibility.md); dropbear's own default of 24 KB
            // would make every upload to the test guest window-bound. OpenSSH's client logs the window it is given.
            Tools.Require("ssh");
            var g = _shared.Guest;
            string log = Tools.Sh($"ssh -vv -n -i '{g.KeyFile}' -p {g.SshPort} -o BatchMode=yes -o StrictHostKeyChecking=no " +
                                  $"-o UserKnownHostsFile=/dev/null {g.User}@127.0.0.1 true 2>&1");
            Assert.Matches(@"channel 0: open confirm rwindow 2097152 ", log);
        }

        [Fact]
        public async Task An_OpenSSH_host_negotiates_chacha20_poly1305()
        {
            using var host = new NetnsSshHost();
            using var jump = await SshShell.ConnectAsync(host.Target(), default);
            Assert.Equal(("chacha20-poly1305@openssh.com", "(aead)"), jump.Negotiated);
        }

        [Fact]
        public async Task Connect_MetalHost_to_an_OpenSSH_host_negotiates_aes128_ctr_with_an_etm_mac()
        {
            using var host = new NetnsSshHost();
            using var ps = new OpenBsdBuild.Tests.Harness.PsSession();
            var r = ps.Run(host.ConnectCommand);
            Assert.False(r.HadErrors, r.Describe());
            var metal = r.Single<OpenBsdBuild.Model.MetalHost>();
            try { Assert.Equal(("aes128-ctr", "hmac-sha2-256-etm@openssh.com"), ((SshShell)metal.Shell).Negotiated); }
            finally { ps.Set("m", metal); ps.Run("$m | Disconnect-MetalHost"); }
        }
    }
}
