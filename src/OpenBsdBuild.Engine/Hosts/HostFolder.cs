using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Hosts
{
    /// <summary>What a folder on an attached host holds, read the way a guest's image path is read there.</summary>
    public static class HostFolder
    {
        /// <summary>
        /// The names in <paramref name="folder"/> on the host, folders ending in '/'; none when it does not exist.
        /// A relative folder is the login's home, and ~/ means it too, as in ssh and the image lookup (Guest/image-info.sh).
        /// </summary>
        public static async Task<IReadOnlyList<string>> ListAsync(MetalHost host, string folder, CancellationToken cancellationToken)
        {
            string target = folder.Length == 0 ? "." : folder;
            string quoted = target == "~" || target.StartsWith("~/", StringComparison.Ordinal)
                ? "\"$HOME\"/" + ShellQuote.Quote(target.Length > 2 ? target.Substring(2) : ".")
                : ShellQuote.Quote(target);
            // -A: dot files too (a sidecar's image may start with one), -p: folders end in '/'.
            ShellResult result = await host.Shell.RunAsync($"ls -1Ap -- {quoted} 2>/dev/null; true", cancellationToken).ConfigureAwait(false);
            return result.Stdout.Split('\n').Where(n => n.Length > 0).ToList();
        }
    }
}
