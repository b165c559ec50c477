using OpenBsdBuild.Model;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// The shells a host and a guest hold, typed again: the model assembly loads in PowerShell's default context
    /// and may not name engine types, so it keeps them as plain objects (Model/EngineState.cs says why).
    /// </summary>
    internal static class HostShells
    {
        extension(MetalHost host)
        {
            internal IHostShell Shell
            {
                get => (IHostShell)host.ShellState;
                set => host.ShellState = value;
            }

            /// <summary>What SSH to a guest on this host jumps through: nothing when the host is this machine.</summary>
            internal IHostShell? JumpShell => host.Shell.IsLocal ? null : host.Shell;
        }

        extension(OpenBsdGuest guest)
        {
            internal IHostShell? Shell
            {
                get => (IHostShell?)guest.ShellState;
                set => guest.ShellState = value;
            }

            /// <summary>
            /// Where a new SSH session to the guest goes: its forward on the host's loopback, through the
            /// host; an OpenBSD instance is reached at its own address with no jump.
            /// </summary>
            internal (string Host, int Port, IHostShell? Via) SshEndpoint => guest is OpenBsdInstance instance
                ? (instance.Address, guest.SshPort, null)
                : ("127.0.0.1", guest.SshPort, guest.Host.JumpShell);
        }
    }
}
