using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// The one seam through which the engine reaches a machine: run a command, move bytes,
    /// reach a TCP port on it. Implemented for this machine (<see cref="LocalShell"/>) and for
    /// SSH (<see cref="SshShell"/>), so guests and builds work the same everywhere.
    /// Commands run under /bin/sh -c on the target.
    /// </summary>
    public interface IHostShell : IDisposable
    {
        /// <summary>Where commands run, e.g. "local" or "root@10.0.0.2:22".</summary>
        string Description { get; }

        /// <summary>True when the commands run in this very process's machine (no transfer needed).</summary>
        bool IsLocal { get; }

        /// <summary>Runs a command and collects its output.</summary>
        Task<ShellResult> RunAsync(string command, CancellationToken cancellationToken);

        /// <summary>
        /// Runs a command, feeding <paramref name="input"/> to its stdin (then closing it), and
        /// hands each output line to the callbacks as soon as it arrives. Returns the exit code.
        /// </summary>
        Task<int> StreamAsync(string command, Stream? input, Action<string>? onStdout, Action<string>? onStderr,
            CancellationToken cancellationToken);

        /// <summary>
        /// Runs a command and hands its stdout, as bytes, to <paramref name="readOutput"/> (which must read it
        /// to the end); stdin as in <see cref="StreamAsync"/>. Returns the exit code once both are done.
        /// </summary>
        Task<int> ReadAsync(string command, Stream? input, Func<Stream, Task> readOutput, Action<string>? onStderr,
            CancellationToken cancellationToken);

        /// <summary>Copies a file on the target into <paramref name="destination"/>; reports bytes done.</summary>
        Task DownloadAsync(string path, Stream destination, Action<long>? progress, CancellationToken cancellationToken);

        /// <summary>Writes <paramref name="source"/> to a file on the target (replacing it); reports bytes done.</summary>
        Task UploadAsync(Stream source, string path, Action<long>? progress, CancellationToken cancellationToken);

        /// <summary>
        /// Makes a TCP endpoint as seen from the target (e.g. a guest's forwarded SSH port on the
        /// host's loopback) reachable from this process.
        /// </summary>
        Task<Tunnel> OpenTunnelAsync(string host, int port, CancellationToken cancellationToken);

        /// <summary>
        /// The reverse: makes a TCP port on this process's loopback reachable on the target's loopback
        /// (e.g. a server a guest on the host must reach as 10.0.2.2). The tunnel's port is the one on the target.
        /// </summary>
        Task<Tunnel> ExposeLocalPortAsync(int localPort, CancellationToken cancellationToken);
    }

    public sealed class ShellResult
    {
        public ShellResult(int exitCode, string stdout, string stderr)
        {
            ExitCode = exitCode;
            Stdout = stdout;
            Stderr = stderr;
        }

        public int ExitCode { get; }
        public string Stdout { get; }
        public string Stderr { get; }
        public bool Succeeded => ExitCode == 0;

        /// <summary>Stderr if there is any, else stdout, trimmed: what to show a user when it failed.</summary>
        public string Message => (Stderr.Trim().Length > 0 ? Stderr : Stdout).Trim();

        /// <summary>RunAsync for any shell: stream the command and keep its output.</summary>
        internal static async Task<ShellResult> CollectAsync(IHostShell shell, string command, CancellationToken cancellationToken)
        {
            var stdout = new System.Text.StringBuilder();
            var stderr = new System.Text.StringBuilder();
            int code = await shell.StreamAsync(command, null,
                line => { lock (stdout) stdout.Append(line).Append('\n'); },
                line => { lock (stderr) stderr.Append(line).Append('\n'); },
                cancellationToken).ConfigureAwait(false);
            return new ShellResult(code, stdout.ToString(), stderr.ToString());
        }
    }

    /// <summary>A local endpoint that reaches a port on a target; disposing closes the forward.</summary>
    public sealed class Tunnel : IDisposable
    {
        private Action? _close;

        public Tunnel(string host, int port, Action? close)
        {
            Host = host;
            Port = port;
            _close = close;
        }

        public string Host { get; }
        public int Port { get; }
        /// <summary>Closes the forward once, however often it is called.</summary>
        public void Dispose() => System.Threading.Interlocked.Exchange(ref _close, null)?.Invoke();
    }
}
