using System;
using System.IO;
using System.Linq;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>
    /// One test guest on this machine, booted once through the cmdlets and shared by the tests
    /// of a collection (a TCG boot costs ~15 s). Tests get it as $guest in their own runspace.
    /// </summary>
    public sealed class SharedGuest : IDisposable
    {
        private readonly PsSession _session = new PsSession();

        public SharedGuest()
        {
            Image = TestGuestImage.Get();
            StateDirectory = Directory.CreateTempSubdirectory("obb-shared-").FullName;
            var r = _session.Run($"Connect-MetalHost -Local -StateDirectory '{StateDirectory}' | " +
                                 $"Start-OpenBsdGuest -Name shared -Image '{Image.Path}' -KeyFile '{Image.KeyFile}' -Memory 512MB -CpuCount 1");
            if (r.HadErrors) throw new InvalidOperationException("The shared guest did not start: " + r.Describe());
            Guest = r.Single<OpenBsdGuest>();
        }

        public TestGuestImage.Built Image { get; }
        public string StateDirectory { get; }
        public OpenBsdGuest Guest { get; }
        public MetalHost Host => Guest.Host;

        /// <summary>The guest for the engine's SSH, on a connection of its own: its user and key, its host key pinned.</summary>
        public OpenBsdBuild.Remote.SshTarget Target =>
            new OpenBsdBuild.Remote.SshTarget("127.0.0.1", Guest.SshPort, Guest.User, Guest.KeyFile!, OpenBsdBuild.Remote.HostKeyPolicy.Pinned(new[] { Guest.HostKeyFingerprint! }));

        /// <summary>A runspace with $guest and $h (its host) set.</summary>
        public PsSession NewSession(TestPsHost? host = null)
        {
            var ps = new PsSession(host);
            ps.Set("guest", Guest);
            ps.Set("h", Host);
            return ps;
        }

        public void Dispose()
        {
            // Read before the guest goes: a server that broke a connection on its own makes every later test of
            // the collection fail as GuestLost, which points at the product; this names the server instead.
            string log = Tools.Sh($"ssh -q -i '{Image.KeyFile}' -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null " +
                                  $"-p {Guest.SshPort} root@127.0.0.1 'cat /var/log/dropbear.log'", allowFailure: true);
            _session.Set("h", Host);
            _session.Run("$h | Remove-MetalHost");
            _session.Dispose();
            Directory.Delete(StateDirectory, true);
            var broken = log.Split('\n').Where(l => l.Contains("Failed assertion") || l.Contains("nknown channel")).ToList();
            if (broken.Count > 0)
                throw new InvalidOperationException("The shared guest's dropbear broke connections itself:\n" + string.Join("\n", broken));
        }
    }

    [CollectionDefinition(Name)]
    public sealed class SharedGuestCollection : ICollectionFixture<SharedGuest>
    {
        public const string Name = "Shared local guest";
    }
}
