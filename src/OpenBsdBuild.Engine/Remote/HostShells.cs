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
        }
    }
}
