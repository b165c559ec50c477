using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Installer;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Timing;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// A guest's serial console served by QEMU on the host's loopback, reached through the host seam.
    /// Reads into a transcript and types only after the awaited text has appeared.
    /// </summary>
    internal sealed class SerialConsole : IDisposable
    {
        private readonly Tunnel _tunnel;
        private readonly TcpClient _client;
        private readonly StringBuilder _unread = new StringBuilder();
        private readonly byte[] _buffer = new byte[4096];
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();

        private SerialConsole(Tunnel tunnel, TcpClient client)
        {
            _tunnel = tunnel;
            _client = client;
            Stream = client.GetStream();
        }

        public NetworkStream Stream { get; }
        public InstallerTranscript Transcript { get; } = new InstallerTranscript();

        /// <summary>Connects as soon as QEMU listens (it was just started).</summary>
        public static async Task<SerialConsole> ConnectAsync(IHostShell host, int port, CancellationToken cancellationToken)
        {
            var tunnel = await host.OpenTunnelAsync("127.0.0.1", port, cancellationToken).ConfigureAwait(false);
            try
            {
                return await Poll.RetryAsync(async _ =>
                    {
                        var client = new TcpClient();
                        try
                        {
                            await client.ConnectAsync(tunnel.Host, tunnel.Port).ConfigureAwait(false);
                            return new SerialConsole(tunnel, client);
                        }
                        catch
                        {
                            client.Dispose();
                            throw;
                        }
                    },
                    ex => ex is SocketException, Backoff.Pause(TimeSpan.FromMilliseconds(200)), 50, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                tunnel.Dispose();
                throw;
            }
        }

        /// <summary>Reads until <paramref name="pattern"/> matches what arrived since the last match; returns the match.</summary>
        public async Task<Match> WaitForAsync(Regex pattern, TimeSpan timeout, string waitingFor, CancellationToken cancellationToken)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            limit.CancelAfter(timeout);
            while (true)
            {
                var match = pattern.Match(_unread.ToString());
                if (match.Success)
                {
                    _unread.Remove(0, match.Index + match.Length);
                    return match;
                }
                int count;
                try
                {
                    count = await Stream.ReadAsync(_buffer, 0, _buffer.Length, limit.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw Failure("ConsoleTimeout", FailureKind.OperationTimeout,
                        $"Waited {timeout.TotalMinutes:0.#} min for {waitingFor} on the serial console.", "Read the console transcript below; the guest may be stuck or slow.");
                }
                catch (IOException ex)
                {
                    throw Failure("ConsoleClosed", FailureKind.ReadError, $"The serial console failed while waiting for {waitingFor}: {ex.Message}",
                        "Check whether QEMU stopped; see the transcript.");
                }
                if (count == 0)
                    throw Failure("ConsoleClosed", FailureKind.ReadError, $"The serial console closed while waiting for {waitingFor}.",
                        "The guest powered off or QEMU stopped; see the transcript.");
                var chars = new char[Encoding.UTF8.GetMaxCharCount(count)];
                int n = _decoder.GetChars(_buffer, 0, count, chars, 0);
                string text = new string(chars, 0, n);
                Transcript.Received(text);
                _unread.Append(text);
                // Keep what a prompt pattern could still need; the transcript has everything.
                if (_unread.Length > 65536) _unread.Remove(0, _unread.Length - 4096);
            }
        }

        /// <summary>Types a line (Enter is a carriage return on a serial console).</summary>
        public async Task SendLineAsync(string text, bool secret, CancellationToken cancellationToken)
        {
            if (secret) Transcript.AddSecret(text);
            Transcript.Sent(text, secret);
            var bytes = Encoding.UTF8.GetBytes(text + "\r");
            await Stream.WriteAsync(bytes, 0, bytes.Length, cancellationToken).ConfigureAwait(false);
            await Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public OpenBsdBuildException Failure(string id, FailureKind kind, string message, string fix) =>
            new OpenBsdBuildException(id, kind, message + Environment.NewLine + "Console transcript (end):" + Environment.NewLine + Transcript.Tail(), null, fix);

        public void Dispose()
        {
            _client.Dispose();
            _tunnel.Dispose();
        }
    }
}
