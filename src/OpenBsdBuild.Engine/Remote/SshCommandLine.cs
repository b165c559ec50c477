using OpenBsdBuild.Model;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Remote
{
    /// <summary>The OpenSSH command lines a user types to get into a kept host or guest.</summary>
    public static class SshCommandLine
    {
        public static string ToHost(MetalHost host) =>
            $"ssh -i {ShellQuote.Quote(host.KeyFile ?? "~/.ssh/id_ed25519")}{PortOption(host.Port)} {host.User}@{host.HostName}";

        /// <summary>
        /// A guest's SSH is bound to its host's loopback, so a remote guest is reached by jumping
        /// through the host. The jump is written as a ProxyCommand with -W (what -J expands to)
        /// because -J cannot name the host's key, which differs from the guest's.
        /// </summary>
        public static string ToGuest(OpenBsdGuest guest)
        {
            var host = guest.Host;
            if (guest is OpenBsdInstance instance) // the build machine itself: no jump
                return $"ssh -i {ShellQuote.Quote(guest.KeyFile ?? "~/.ssh/id_ed25519")}{PortOption(guest.SshPort)} {guest.User}@{instance.Address}";
            string guestKey = ShellQuote.Quote(guest.KeyFile ?? "~/.ssh/id_ed25519");
            string jump = host.HostName == null ? "" :
                $" -o ProxyCommand=\"ssh -i {ShellQuote.Quote(host.KeyFile ?? "~/.ssh/id_ed25519")}{PortOption(host.Port)} -W %h:%p {host.User}@{host.HostName}\"";
            return $"ssh -i {guestKey}{jump} -p {guest.SshPort} {guest.User}@127.0.0.1";
        }

        private static string PortOption(int port) => port == 22 ? "" : " -p " + port;
    }
}
