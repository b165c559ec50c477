using System.IO;
using System.Management.Automation;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

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
            Assert.Equal(HostState.Removed, host.State);
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

        [Theory]
        [InlineData(2, null)]
        [InlineData(100, "OpenBsdBuild.HostUnreachable,")]
        public void A_server_that_drops_new_connections_unread_is_retried_a_few_times(int dropped, string? error)
        {
            // What sshd's MaxStartups and dropbear's per-address limit do while earlier connections are reaped.
            using var gate = new DroppingProxy(_ssh.Address, 22, dropped);
            using var ps = new PsSession();
            var r = ps.Run($"$h = Connect-MetalHost -HostName 127.0.0.1 -Port {gate.Port} -User root -KeyFile '{_ssh.KeyFile}' -HostKeyFingerprint {_ssh.HostKeyFingerprint}; $h; $h | Remove-MetalHost");
            if (error == null)
            {
                Assert.False(r.HadErrors, r.Describe());
                Assert.Equal(dropped + 1, gate.Accepted);
            }
            else
            {
                Assert.StartsWith(error, r.FirstError!.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.ConnectionError, r.FirstError.CategoryInfo.Category);
                Assert.Equal(4, gate.Accepted);
            }
        }

        /// <summary>Closes the first connections it accepts without a word, then relays the rest to the real server.</summary>
        private sealed class DroppingProxy : System.IDisposable
        {
            private readonly System.Net.Sockets.TcpListener _listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            private int _accepted;

            public DroppingProxy(string host, int port, int drop)
            {
                _listener.Start();
                _ = System.Threading.Tasks.Task.Run(async () =>
                {
                    while (true)
                    {
                        System.Net.Sockets.TcpClient client;
                        try { client = await _listener.AcceptTcpClientAsync(); }
                        catch (System.Exception) { return; }
                        if (System.Threading.Interlocked.Increment(ref _accepted) <= drop)
                        {
                            client.Dispose();
                            continue;
                        }
                        var server = new System.Net.Sockets.TcpClient();
                        await server.ConnectAsync(host, port);
                        _ = Relay(client, server);
                    }
                });
            }

            public int Port => ((System.Net.IPEndPoint)_listener.LocalEndpoint).Port;
            public int Accepted => _accepted;

            private static async System.Threading.Tasks.Task Relay(System.Net.Sockets.TcpClient a, System.Net.Sockets.TcpClient b)
            {
                using (a)
                using (b)
                {
                    var one = a.GetStream().CopyToAsync(b.GetStream());
                    var two = b.GetStream().CopyToAsync(a.GetStream());
                    try { await System.Threading.Tasks.Task.WhenAny(one, two); } catch (IOException) { }
                }
            }

            public void Dispose() => _listener.Stop();
        }
    }
}
