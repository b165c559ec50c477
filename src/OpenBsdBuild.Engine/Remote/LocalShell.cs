using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Remote
{
    /// <summary>This machine, reached by starting processes. Unix only (QEMU hosts are Linux or macOS).</summary>
    public sealed class LocalShell : IHostShell
    {
        public string Description => "local";
        public bool IsLocal => true;

        public Task<ShellResult> RunAsync(string command, CancellationToken cancellationToken) =>
            ShellResult.CollectAsync(this, command, cancellationToken);

        public Task<int> StreamAsync(string command, Stream? input, Action<string>? onStdout, Action<string>? onStderr,
            CancellationToken cancellationToken) =>
            RunProcessAsync(command, input, stdout => PumpLines(new StreamReader(stdout, new UTF8Encoding(false)), onStdout), onStderr, cancellationToken);

        public Task<int> ReadAsync(string command, Stream? input, Func<Stream, Task> readOutput, Action<string>? onStderr,
            CancellationToken cancellationToken) =>
            RunProcessAsync(command, input, readOutput, onStderr, cancellationToken);

        private async Task<int> RunProcessAsync(string command, Stream? input, Func<Stream, Task> readOutput, Action<string>? onStderr,
            CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            OperationTrace.Command(Description, command, input);
            // Its own process group (setsid), so cancelling takes down everything the command started.
            string script = SetsidAvailable ? "exec setsid -w /bin/sh -c " + ShellQuote.Quote(command) : command;
            var psi = new ProcessStartInfo("/bin/sh", "-c " + ProcessArgument(script))
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };

            using var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
            process.Start();
            var exited = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.Exited += (_, __) => exited.TrySetResult(true);
            if (process.HasExited) exited.TrySetResult(true);

            var readOut = Task.Run(() => readOutput(process.StandardOutput.BaseStream));
            var readErr = PumpLines(process.StandardError, onStderr);
            var feed = Task.Run(async () =>
            {
                try
                {
                    if (input != null) await input.CopyToAsync(process.StandardInput.BaseStream, 81920, cancellationToken).ConfigureAwait(false);
                }
                catch (IOException) { /* the command stopped reading; its exit code tells the story */ }
                finally
                {
                    try { process.StandardInput.Close(); } catch (IOException) { }
                }
            });

            using (cancellationToken.Register(() => KillGroup(process)))
            {
                await Task.WhenAll(exited.Task, readOut, readErr).ConfigureAwait(false);
                await feed.ConfigureAwait(false);
            }
            process.WaitForExit();
            cancellationToken.ThrowIfCancellationRequested();
            return process.ExitCode;
        }

        public async Task DownloadAsync(string path, Stream destination, Action<long>? progress, CancellationToken cancellationToken)
        {
            OperationTrace.Download(Description, "copy", path, destination);
            using var source = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: true);
            await StreamCopy.CopyAsync(source, destination, progress, cancellationToken).ConfigureAwait(false);
        }

        public async Task UploadAsync(Stream source, string path, Action<long>? progress, CancellationToken cancellationToken)
        {
            OperationTrace.Upload(Description, "copy", source, path);
            using var destination = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, useAsync: true);
            await StreamCopy.CopyAsync(source, destination, progress, cancellationToken).ConfigureAwait(false);
        }

        public Task<Tunnel> OpenTunnelAsync(string host, int port, CancellationToken cancellationToken) =>
            Task.FromResult(new Tunnel(host, port, null));

        public Task<Tunnel> ExposeLocalPortAsync(int localPort, CancellationToken cancellationToken) =>
            Task.FromResult(new Tunnel("127.0.0.1", localPort, null));

        public void Dispose() { }

        private static readonly bool SetsidAvailable = File.Exists("/usr/bin/setsid") || File.Exists("/bin/setsid");

        /// <summary>Quotes one argument for ProcessStartInfo.Arguments (MSVC rules, which .NET also applies on Unix).</summary>
        private static string ProcessArgument(string value)
        {
            var sb = new StringBuilder("\"");
            int slashes = 0;
            foreach (char c in value)
            {
                if (c == '\\') { slashes++; continue; }
                if (c == '"') sb.Append('\\', slashes * 2 + 1);
                else sb.Append('\\', slashes);
                slashes = 0;
                sb.Append(c);
            }
            sb.Append('\\', slashes * 2).Append('"');
            return sb.ToString();
        }

        private static Task PumpLines(StreamReader reader, Action<string>? onLine) => Task.Run(async () =>
        {
            string? line;
            while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) != null) onLine?.Invoke(line);
        });

        private static void KillGroup(Process process)
        {
            try
            {
                if (process.HasExited) return;
                // setsid makes the child's pid its process group id.
                using var kill = Process.Start(new ProcessStartInfo("/bin/kill", "-KILL -- -" + process.Id) { UseShellExecute = false });
                kill?.WaitForExit(2000);
                if (!process.HasExited) process.Kill();
            }
            catch (InvalidOperationException) { }
        }
    }
}
