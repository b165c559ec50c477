using System;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// A host downloading a URL itself with curl, so big files go from the source to the host without
    /// passing through this machine. The URL goes to curl on stdin (-K -), never on a command line or
    /// in a log: it may carry a signature. Reports the bytes written so far, about once a second.
    /// </summary>
    internal static class HostDownload
    {
        private const int CurlMissing = 127;

        /// <param name="what">What is fetched, for the error when the host has no curl ("images").</param>
        /// <returns>curl's exit code and its error output; a host without curl is an error of its own.</returns>
        public static async Task<(int Exit, string Errors)> CurlAsync(MetalHost host, Uri url, string target, string what, Action<long>? progress,
            CancellationToken cancellationToken)
        {
            string quoted = ShellQuote.Quote(target);
            string script =
                $"command -v curl >/dev/null || {{ echo 'curl is not installed' >&2; exit {CurlMissing}; }}; " +
                // A background job's stdin is /dev/null, so the config is read first; printf is a builtin (not in ps).
                $"cfg=$(cat) && {{ printf '%s\\n' \"$cfg\" | curl -fsS --retry 3 --connect-timeout 20 -o {quoted} -K - & pid=$!; " +
                $"while kill -0 $pid 2>/dev/null; do echo \"size $(wc -c 2>/dev/null < {quoted} || echo 0)\"; sleep 1; done; wait $pid; }}";
            var config = new MemoryStream(Encoding.UTF8.GetBytes($"url = \"{url.AbsoluteUri.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"\n"));
            var errors = new StringBuilder();
            int exit = await host.Shell.StreamAsync(script, config,
                line =>
                {
                    if (line.StartsWith("size ", StringComparison.Ordinal) && long.TryParse(line.Substring(5).Trim(), out long done)) progress?.Invoke(done);
                },
                line => { lock (errors) errors.AppendLine(line); },
                cancellationToken).ConfigureAwait(false);
            if (exit == CurlMissing)
                throw new OpenBsdBuildException("CurlNotInstalled", FailureKind.NotInstalled,
                    $"curl is not installed on {host.Name}; the host fetches {what} with it.", host.Name,
                    "Install it on the host (Debian/Ubuntu: apt-get install curl).");
            return (exit, errors.ToString().Trim());
        }
    }
}
