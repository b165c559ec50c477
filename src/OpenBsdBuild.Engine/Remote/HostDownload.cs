using System;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// A host downloading a URL itself with curl, so big files go from the source to the host without
    /// passing through this machine. The URL goes to curl on stdin (-K -), never on a command line or
    /// in a log: it may carry a signature. Reports the bytes written so far, about once a second.
    /// </summary>
    internal static class HostDownload
    {
        /// <summary>curl's exit when curl itself is missing (the shell's "command not found").</summary>
        public const int CurlMissing = 127;

        /// <returns>curl's exit code (<see cref="CurlMissing"/> without curl) and its error output.</returns>
        public static async Task<(int Exit, string Errors)> CurlAsync(IHostShell shell, Uri url, string target, Action<long>? progress,
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
            int exit = await shell.StreamAsync(script, config,
                line =>
                {
                    if (line.StartsWith("size ", StringComparison.Ordinal) && long.TryParse(line.Substring(5).Trim(), out long done)) progress?.Invoke(done);
                },
                line => { lock (errors) errors.AppendLine(line); },
                cancellationToken).ConfigureAwait(false);
            return (exit, errors.ToString().Trim());
        }
    }
}
