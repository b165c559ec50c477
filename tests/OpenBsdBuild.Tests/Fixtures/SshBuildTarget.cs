using System;
using OpenBsdBuild.Hosts;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>
    /// A build target that is a real sshd in a network namespace instead of a QEMU guest: full
    /// speed (no emulated crypto), the host's git, and a link the test can cut. Used for the
    /// build tests about transfers, cloning and dropped connections.
    /// </summary>
    public sealed class SshBuildTarget : IDisposable
    {
        public SshBuildTarget(bool logCommands = false)
        {
            Namespace = new NetnsSshHost(logCommands);
            var target = new SshTarget(Namespace.Address, 22, "root", Namespace.KeyFile, HostKeyPolicy.Pinned(new[] { Namespace.HostKeyFingerprint }));
            Host = HostConnector.ConnectSshAsync(target, Namespace.StateDirectory, NullReporter.Instance, default).GetAwaiter().GetResult();
            var session = SshShell.ConnectAsync(target, default).GetAwaiter().GetResult();
            Guest = new OpenBsdGuest(Host, "nsguest", Namespace.StateDirectory + "/guests/nsguest")
            {
                Shell = session,
                User = "root",
                KeyFile = Namespace.KeyFile,
                HostKeyFingerprint = session.HostKeyFingerprint,
                SshPort = 22,
                State = GuestState.Running,
            };
        }

        public NetnsSshHost Namespace { get; }
        public MetalHost Host { get; }
        public OpenBsdGuest Guest { get; }

        public void Dispose()
        {
            Guest.Shell?.Dispose();
            Host.Shell.Dispose();
            Namespace.Dispose();
        }
    }
}
