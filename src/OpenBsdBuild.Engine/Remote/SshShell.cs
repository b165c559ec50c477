using System;
using System.Diagnostics;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;
using Renci.SshNet.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Timing;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// A machine reached over SSH, directly or by jumping through another shell (the metal
    /// host in front of a guest). The key never leaves this process: a jump is a local port
    /// forward over the outer session, and the inner session runs end to end through it.
    /// </summary>
    public sealed class SshShell : IHostShell
    {
        private readonly SshClient _client;
        private readonly ConnectionInfo _connection;
        private readonly Tunnel? _jump;
        private static readonly Random ReversePorts = new Random();
        private readonly object _sftpLock = new object();
        private SftpClient? _sftp;
        private long _lastTraffic = Stopwatch.GetTimestamp();

        private SshShell(SshTarget target, SshClient client, ConnectionInfo connection, Tunnel? jump, string presentedKey)
        {
            Target = target;
            _client = client;
            _connection = connection;
            _jump = jump;
            HostKeyFingerprint = presentedKey;
        }

        public SshTarget Target { get; }
        /// <summary>The fingerprint the server presented (and that the policy accepted).</summary>
        public string HostKeyFingerprint { get; }
        public string Description => Target.ToString();
        public bool IsLocal => false;
        /// <summary>False once the transport closed (the peer or a forward ended it); a link that died silently still reads true.</summary>
        internal bool IsConnected => _client.IsConnected;
        /// <summary>The session's socket (tests: see <see cref="BlockingSessionSocket"/>).</summary>
        internal Socket? SessionSocket => SshTransport.SocketOf(_client);
        /// <summary>
        /// How long ago bytes last came out of, or went into, one of this session's commands or transfers. Data that
        /// keeps moving shows the link alive even when a probe goes unanswered: a guest whose CPU is starved can take
        /// longer than <see cref="LinkWatch.AnswerTimeout"/> to start a process for the probe while it still streams.
        /// </summary>
        internal TimeSpan SinceTraffic =>
            TimeSpan.FromSeconds((Stopwatch.GetTimestamp() - Interlocked.Read(ref _lastTraffic)) / (double)Stopwatch.Frequency);

        private void NoteTraffic() => Interlocked.Exchange(ref _lastTraffic, Stopwatch.GetTimestamp());

        /// <summary>The cipher and MAC this session negotiated, server to client ("(aead)" for the MAC of an AEAD cipher).</summary>
        internal (string Cipher, string Mac) Negotiated => (_connection.CurrentServerEncryption ?? "", _connection.CurrentServerHmacAlgorithm ?? "(aead)");

        /// <summary>Connects, verifying the host key; <paramref name="via"/> makes it a jump.</summary>
        public static async Task<SshShell> ConnectAsync(SshTarget target, CancellationToken cancellationToken, IHostShell? via = null)
        {
            PrivateKeyFile key = LoadKey(target.KeyFile);
            OperationTrace.Action(target.ToString(), via == null
                ? $"SSH connection (host key {target.HostKeys})"
                : $"SSH connection to {target.Host}:{target.Port} as seen from {via.Description} (host key {target.HostKeys})");
            try
            {
                // sshd (MaxStartups) and dropbear (a few unauthenticated connections per address) drop a new
                // connection unread while earlier ones, such as the boot's readiness probes, are being reaped.
                return await Poll.RetryAsync(_ => ConnectOnceAsync(target, key, via, cancellationToken),
                    ex => ex is SshConnectionException sce && IsThrottled(sce), Backoff.Linear(TimeSpan.FromMilliseconds(500)), 4, cancellationToken).ConfigureAwait(false);
            }
            catch (SshConnectionException ex) when (IsThrottled(ex))
            {
                throw Translate(ex, target, "");
            }
        }

        private static async Task<SshShell> ConnectOnceAsync(SshTarget target, PrivateKeyFile key, IHostShell? via, CancellationToken cancellationToken)
        {
            Tunnel? jump = via == null ? null : await via.OpenTunnelAsync(target.Host, target.Port, cancellationToken).ConfigureAwait(false);
            string host = jump?.Host ?? target.Host;
            int port = jump?.Port ?? target.Port;
            var info = new ConnectionInfo(host, port, target.User, new BlockingSessionSocket.KeyAuthentication(target.User, key))
            {
                Timeout = target.ConnectTimeout,
            };
            SshAlgorithms.Apply(info, target.FarEnd);
            string presented = "";
            var client = new SshClient(info);
            client.HostKeyReceived += (_, e) =>
            {
                presented = HostKeyPolicy.Normalize(e.FingerPrintSHA256);
                e.CanTrust = target.HostKeys.Accepts(presented);
            };
            client.KeepAliveInterval = TimeSpan.FromSeconds(10);
            try
            {
                await client.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                client.Dispose();
                jump?.Dispose();
                // Retried by the caller when the server dropped the connection before saying anything.
                if (ex is SshConnectionException connection && IsThrottled(connection) && presented.Length == 0) throw;
                throw Translate(ex, target, presented);
            }
            catch
            {
                client.Dispose();
                jump?.Dispose();
                throw;
            }
            return new SshShell(target, client, info, jump, presented);
        }

        /// <summary>The server closed the connection before its identification line: it is refusing new connections for now.</summary>
        private static bool IsThrottled(SshConnectionException ex) =>
            ex.Message.IndexOf("identification string", StringComparison.OrdinalIgnoreCase) >= 0;

        public Task<ShellResult> RunAsync(string command, CancellationToken cancellationToken) =>
            ShellResult.CollectAsync(this, command, cancellationToken);

        public Task<int> StreamAsync(string command, Stream? input, Action<string>? onStdout, Action<string>? onStderr,
            CancellationToken cancellationToken) =>
            ExecAsync(command, input, stdout => PumpLines(stdout, line => { NoteTraffic(); onStdout?.Invoke(line); }), onStderr, cancellationToken);

        /// <summary>
        /// Over an exec channel of this session: no second connection and key exchange (as SFTP needs), which
        /// costs seconds against a guest whose CPU is emulated. Stdout goes through a <see cref="BoundedPipeStream"/>,
        /// so a reader that falls behind holds the sender back instead of letting the data pile up here
        /// (SSH.NET's own stream grows without limit under its 2 GB window); see docs/transfers.md.
        /// </summary>
        public Task<int> ReadAsync(string command, Stream? input, Func<Stream, Task> readOutput, Action<string>? onStderr,
            CancellationToken cancellationToken) =>
            ExecAsync(command, input, stdout => Task.Factory.StartNew(async () =>
            {
                try { await readOutput(stdout).ConfigureAwait(false); }
                finally { (stdout as BoundedPipeStream)?.ReaderDone(); }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap(), onStderr, cancellationToken,
            boundedOutput: true);

        /// <summary>What one <see cref="ReadAsync"/> may hold unread before the sender is held back.</summary>
        internal const int ReadBufferLimit = 8 << 20;

        /// <summary>
        /// SSH.NET has no public way to give a command another output stream; its property's private setter is the
        /// seam (checked by BackPressureTests, so an SSH.NET update that removes it fails a test, not a user).
        /// </summary>
        private static readonly System.Reflection.MethodInfo? SetOutputStream =
            typeof(SshCommand).GetProperty(nameof(SshCommand.OutputStream))?.GetSetMethod(nonPublic: true);

        /// <summary>The peak of the last bounded read's buffer (for tests and the bench).</summary>
        internal long LastReadPeakBuffered { get; private set; }

        private async Task<int> ExecAsync(string command, Stream? input, Func<Stream, Task> readOutput, Action<string>? onStderr,
            CancellationToken cancellationToken, bool boundedOutput = false)
        {
            EnsureConnected();
            OperationTrace.Command(Description, command, input);
            var cmd = _client.CreateCommand(command);
            using var closing = new CommandClose(cmd);
            cmd.CommandTimeout = Timeout.InfiniteTimeSpan;
            using var cancelRemotely = cancellationToken.Register(closing.CancelRemotely);
            BoundedPipeStream? bounded = null;
            if (boundedOutput && SetOutputStream != null)
            {
                cmd.OutputStream.Dispose();
                bounded = new BoundedPipeStream(ReadBufferLimit, NoteTraffic);
                SetOutputStream.Invoke(cmd, new object[] { bounded });
            }
            Task execution;
            try
            {
                // Opening the channel blocks inside SSH.NET until the server answers, up to the connection
                // timeout, and ignores the token: over a dead link a cancel must not wait for that.
                Task<Task> opening = Task.Factory.StartNew(() =>
                {
                    try { return cmd.ExecuteAsync(closing.RemoteToken); }
                    finally { closing.Opened(); }
                }, CancellationToken.None, TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);
                await WithinAsync(opening, cancellationToken).ConfigureAwait(false);
                execution = opening.Result;
            }
            catch (SshException ex)
            {
                throw ConnectionLost(ex);
            }

            var readOut = readOutput(cmd.OutputStream);
            var readErr = PumpLines(cmd.ExtendedOutputStream, onStderr);
            if (input != null)
                await WithinAsync(FeedAsync(cmd, input, NoteTraffic, cancellationToken), cancellationToken).ConfigureAwait(false);
            try
            {
                await WithinAsync(execution, cancellationToken).ConfigureAwait(false);
            }
            catch (SshConnectionException ex)
            {
                throw ConnectionLost(ex);
            }
            await Task.WhenAll(readOut, readErr).ConfigureAwait(false);
            if (bounded != null) LastReadPeakBuffered = bounded.PeakBuffered;
            if (!_client.IsConnected && cmd.ExitStatus == null) throw ConnectionLost(null);
            closing.Ended = true;
            return cmd.ExitStatus ?? (cmd.ExitSignal != null ? 128 + SignalNumber(cmd.ExitSignal) : -1);
        }

        /// <summary>
        /// Cancels and closes a command's channel without making its caller wait. SSH.NET cancels inside Cancel() itself
        /// (a signal, then up to 500 ms for the exit), and the close waits for the session's write lock, which a send stuck
        /// on a dead link holds until the shell is closed (<see cref="SshTransport"/>): both run on the pool unless the
        /// command ended. The close always follows the signal, and the signal never follows the CLOSE SSH.NET sends when the
        /// server closes first: a request on a channel already closed makes OpenSSH drop the whole connection
        /// ("server_input_channel_req: unknown channel", seen when the link watch gave up on a probe).
        /// </summary>
        private sealed class CommandClose : IDisposable
        {
            private readonly SshCommand _command;
            private readonly CancellationTokenSource _remoteCancel = new CancellationTokenSource();
            private Task _cancelling = Task.CompletedTask;
            private readonly TaskCompletionSource<bool> _opened = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            private int _started, _cancelRequested;

            public CommandClose(SshCommand command) => _command = command;

            /// <summary>The token SSH.NET's execution gets in place of the caller's.</summary>
            public CancellationToken RemoteToken => _remoteCancel.Token;
            public bool Ended { get; set; }

            /// <summary>
            /// SSH.NET's execution has opened the channel and sent the exec (or failed to), and listens to
            /// <see cref="RemoteToken"/> from now on. Until then neither a cancel nor the close may go ahead (seen: a
            /// link-watch probe given up while its open waited behind a slow download; OpenSSH dropped the connection,
            /// "server_input_channel_req: unknown channel 1"):
            /// - SSH.NET registers on the token only after the exec, and a token already cancelled then runs its cancel at
            ///   once, on the opening thread and outside the channel's lock, so the signal could follow a CLOSE;
            /// - a close while the open is answered sends CLOSE, and the exec request that the opening thread sends next
            ///   follows it.
            /// </summary>
            public void Opened()
            {
                Interlocked.Exchange(ref _started, 1);
                if (Interlocked.CompareExchange(ref _cancelRequested, 0, 0) == 1) SignalUnderLock();
                _opened.TrySetResult(true);
            }

            /// <summary>SSH.NET's cancel sends its signal outside the channel's lock: under it here (<see cref="ChannelLock"/>).</summary>
            public void CancelRemotely()
            {
                Interlocked.Exchange(ref _cancelRequested, 1);
                if (Interlocked.CompareExchange(ref _started, 0, 0) == 1) SignalUnderLock();
            }

            // Both sides write their flag with a full fence before reading the other's, so at least one of them signals
            // (a second Cancel is a no-op).
            private void SignalUnderLock() => Volatile.Write(ref _cancelling, Task.Run(() => ChannelLock.Run(_command, () =>
            {
                try { _remoteCancel.Cancel(); }
                catch (Exception ex) when (ex is AggregateException || ex is ObjectDisposedException) { /* the command ended or was closed meanwhile */ }
            })));

            public void Dispose()
            {
                Task cancelling = Volatile.Read(ref _cancelling);
                if (Ended && cancelling.IsCompleted) Close(cancelling);
                else _ = Task.WhenAll(cancelling, _opened.Task).ContinueWith(Close, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }

            private void Close(Task cancelled)
            {
                _command.Dispose();
                _remoteCancel.Dispose();
            }
        }

        public async Task DownloadAsync(string path, Stream destination, Action<long>? progress, CancellationToken cancellationToken)
        {
            OperationTrace.Download(Description, "sftp get", path, destination);
            var sftp = await SftpAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // The async transfer checks the token between chunks: Ctrl+C mid-file stops within one chunk, not at the file's end.
                await sftp.DownloadFileAsync(path, destination, new InlineProgress(r =>
                {
                    NoteTraffic();
                    progress?.Invoke((long)r.TotalBytesDownloaded);
                }), cancellationToken).ConfigureAwait(false);
            }
            catch (SftpPathNotFoundException ex)
            {
                throw new OpenBsdBuildException("RemoteFileNotFound", FailureKind.ObjectNotFound,
                    $"'{path}' does not exist on {Description}.", path, "Check the path on the remote machine.", ex);
            }
            catch (SshConnectionException ex)
            {
                throw ConnectionLost(ex);
            }
        }

        public async Task UploadAsync(Stream source, string path, Action<long>? progress, CancellationToken cancellationToken)
        {
            OperationTrace.Upload(Description, "sftp put", source, path);
            var sftp = await SftpAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await sftp.UploadFileAsync(source, path, true, new InlineUploadProgress(r =>
                {
                    NoteTraffic();
                    progress?.Invoke((long)r.TotalBytesUploaded);
                }), cancellationToken).ConfigureAwait(false);
            }
            catch (SftpPathNotFoundException ex)
            {
                throw new OpenBsdBuildException("RemoteDirectoryNotFound", FailureKind.ObjectNotFound,
                    $"Cannot write '{path}' on {Description}: its directory does not exist.", path, "Check the path on the remote machine.", ex);
            }
            catch (SshConnectionException ex)
            {
                throw ConnectionLost(ex);
            }
        }

        public Task<Tunnel> ExposeLocalPortAsync(int localPort, CancellationToken cancellationToken)
        {
            EnsureConnected();
            // The server picks nothing for us (SSH.NET does not report an allocated port), so try a few free-looking ones.
            for (int attempt = 1; ; attempt++)
            {
                uint remotePort;
                lock (ReversePorts) remotePort = (uint)ReversePorts.Next(20000, 60000);
                var forward = new ForwardedPortRemote("127.0.0.1", remotePort, "127.0.0.1", (uint)localPort);
                _client.AddForwardedPort(forward);
                try
                {
                    forward.Start();
                }
                catch (SshException ex)
                {
                    _client.RemoveForwardedPort(forward);
                    forward.Dispose();
                    if (attempt < 5 && _client.IsConnected) continue;
                    throw new OpenBsdBuildException("ReverseForwardRefused", FailureKind.PermissionDenied,
                        $"{Description} refused to forward a port on its loopback back to this machine: {ex.Message}", Description,
                        "Allow TCP forwarding in the host's sshd_config (AllowTcpForwarding yes or remote), then try again.", ex);
                }
                OperationTrace.Action(Description, $"reverse forward 127.0.0.1:{remotePort} -> this machine's 127.0.0.1:{localPort}");
                // Stopping asks the server to cancel the forward, a send that a dead link can hold for TCP's ~15 min: not waited for long.
                return Task.FromResult(new Tunnel("127.0.0.1", (int)remotePort, () => SshTransport.Close(() =>
                {
                    try
                    {
                        // Only while there is a session to ask.
                        if (_client.IsConnected) forward.Stop();
                        _client.RemoveForwardedPort(forward);
                    }
                    catch (Exception) { /* the session is already gone */ }
                    forward.Dispose();
                }, null)));
            }
        }

        public Task<Tunnel> OpenTunnelAsync(string host, int port, CancellationToken cancellationToken)
        {
            EnsureConnected();
            var forward = new ForwardedPortLocal("127.0.0.1", 0, host, (uint)port);
            _client.AddForwardedPort(forward);
            forward.Start();
            OperationTrace.Action(Description, $"forward 127.0.0.1:{forward.BoundPort} -> {host}:{port}");
            return Task.FromResult(new Tunnel("127.0.0.1", (int)forward.BoundPort, () =>
            {
                try
                {
                    forward.Stop();
                    _client.RemoveForwardedPort(forward);
                }
                catch (Exception) { /* the session is already gone */ }
                forward.Dispose();
            }));
        }

        /// <summary>Returns within seconds even on a dead link: a close stuck there has its socket cut (see <see cref="SshTransport"/>).</summary>
        public void Dispose()
        {
            SftpClient? sftp;
            lock (_sftpLock)
            {
                sftp = _sftp;
                _sftp = null;
            }
            if (sftp != null) SshTransport.Close(sftp);
            SshTransport.Close(_client);
            // The forward's channel lives on the host's connection, which may be the one that died: never waited for long.
            if (_jump is Tunnel jump) SshTransport.Close(jump.Dispose, null);
        }

        private async Task<SftpClient> SftpAsync(CancellationToken cancellationToken)
        {
            lock (_sftpLock)
            {
                if (_sftp != null && _sftp.IsConnected) return _sftp;
            }
            // A second session on the same endpoint (through the same jump, if any).
            var sftp = new SftpClient(_connection) { BufferSize = 64 * 1024, OperationTimeout = TimeSpan.FromMinutes(5) };
            sftp.HostKeyReceived += (_, e) => e.CanTrust = HostKeyPolicy.Normalize(e.FingerPrintSHA256) == HostKeyFingerprint;
            try
            {
                await sftp.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!(ex is OperationCanceledException))
            {
                sftp.Dispose();
                throw new OpenBsdBuildException("SftpUnavailable", FailureKind.ResourceUnavailable,
                    $"Could not open an SFTP session to {Description}: {ex.Message}", Description,
                    "Make sure the SSH server on that machine has the sftp subsystem enabled.", ex);
            }
            lock (_sftpLock)
            {
                _sftp?.Dispose();
                _sftp = sftp;
            }
            return sftp;
        }

        private void EnsureConnected()
        {
            if (!_client.IsConnected) throw ConnectionLost(null);
        }

        private OpenBsdBuildException ConnectionLost(Exception? inner) =>
            new OpenBsdBuildException("ConnectionLost", FailureKind.ConnectionError,
                $"The SSH connection to {Description} was lost{(inner == null ? "" : ": " + inner.Message)}.", Description,
                "Check that the machine is still running and reachable, then try again.", inner);

        private static PrivateKeyFile LoadKey(string keyFile)
        {
            try
            {
                return new PrivateKeyFile(keyFile);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new OpenBsdBuildException("KeyFileUnreadable", FailureKind.ReadError,
                    $"Cannot read the SSH private key '{keyFile}': {ex.Message}", keyFile,
                    "Pass -KeyFile with the path of a readable OpenSSH private key.", ex);
            }
            catch (Exception ex) when (ex is SshException || ex is ArgumentException || ex is InvalidOperationException || ex is NotSupportedException)
            {
                throw new OpenBsdBuildException("KeyFileInvalid", FailureKind.InvalidData,
                    $"'{keyFile}' is not a usable SSH private key: {ex.Message}", keyFile,
                    "Use an unencrypted OpenSSH private key (ssh-keygen -t ed25519 -N '').", ex);
            }
        }

        private static OpenBsdBuildException Translate(Exception ex, SshTarget target, string presented)
        {
            if (presented.Length > 0 && !target.HostKeys.Accepts(presented))
                return new OpenBsdBuildException("HostKeyMismatch", FailureKind.SecurityError,
                    $"The SSH host key of {target} is {presented}, which is not the expected {target.HostKeys}. Refusing to connect.",
                    target.ToString(),
                    "If the machine was legitimately reinstalled, pass its new fingerprint (ssh-keygen -lf on the host key); otherwise someone may be intercepting the connection.", ex);
            if (ex is SshAuthenticationException)
                return new OpenBsdBuildException("AuthenticationFailed", FailureKind.AuthenticationError,
                    $"{target} refused the key '{target.KeyFile}': {ex.Message}", target.ToString(),
                    $"Check that the public half of the key is in ~{target.User}/.ssh/authorized_keys on that machine and that the user name is right.", ex);
            if (ex is SshOperationTimeoutException)
                return new OpenBsdBuildException("ConnectTimeout", FailureKind.OperationTimeout,
                    $"Timed out after {target.ConnectTimeout.TotalSeconds:0} s connecting to {target}.", target.ToString(),
                    "Check the address and port, and that a firewall lets SSH through.", ex);
            if (ex is SocketException || ex is SshConnectionException || ex is ProxyException)
                return new OpenBsdBuildException("HostUnreachable", FailureKind.ConnectionError,
                    $"Could not connect to {target}: {ex.Message}", target.ToString(),
                    "Check the address and port, and that an SSH server is running there.", ex);
            return new OpenBsdBuildException("SshFailed", FailureKind.ConnectionError,
                $"SSH to {target} failed: {ex.Message}", target.ToString(), null, ex);
        }

        private static async Task FeedAsync(SshCommand cmd, Stream input, Action moved, CancellationToken cancellationToken)
        {
            try
            {
                // SSH.NET refuses an input stream (InvalidOperationException) once the command has ended, which a quick
                // command that never reads its stdin (a build with no secrets) can do before this line runs.
                var stdin = cmd.CreateInputStream();
                try
                {
                    // CopyToAsync, not a read/write loop: the source archive overrides it to pack straight into stdin
                    // (docs/transfers.md). Big writes: see SourceArchive.
                    await input.CopyToAsync(new NotingWrites(cmd, stdin, moved), 1 << 18, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    // A failed or cancelled copy may be stuck on a dead link: no channel lock held while its EOF waits.
                    stdin.Dispose();
                    throw;
                }
                ChannelLock.Run(cmd, stdin.Dispose);
            }
            catch (Exception ex) when (ex is SshException || ex is IOException || ex is ObjectDisposedException || ex is InvalidOperationException)
            {
                // The command stopped reading (it failed, ended without its input, or the channel closed); its exit tells why.
            }
        }

        /// <summary>
        /// A command's stdin that sends no input after the channel's close (<see cref="ChannelLock.Write"/>) and notes each
        /// write as traffic (<see cref="SinceTraffic"/>).
        /// </summary>
        private sealed class NotingWrites : SequentialStream
        {
            private readonly SshCommand _command;
            private readonly Stream _stdin;
            private readonly Action _moved;

            public NotingWrites(SshCommand command, Stream stdin, Action moved)
            {
                _command = command;
                _stdin = stdin;
                _moved = moved;
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                ChannelLock.Write(_command, _stdin, buffer, offset, count);
                _moved();
            }

            public override bool CanRead => false;
            public override bool CanWrite => true;
            public override void Flush() => _stdin.Flush();
        }

        /// <summary>
        /// Waits for a command or its input, but not past a cancellation: once SSH.NET cancels a command,
        /// a write to its stdin blocks until the channel gives up (~20 s, seen with a slow guest behind a
        /// jump), and its own cancel waits for a remote side that may ignore signals (dropbear).
        /// Disposing the command afterwards closes the channel and releases both.
        /// </summary>
        private static async Task WithinAsync(Task execution, CancellationToken cancellationToken)
        {
            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => cancelled.TrySetResult(true)))
            {
                if (await Task.WhenAny(execution, cancelled.Task).ConfigureAwait(false) != execution)
                {
                    _ = execution.ContinueWith(t => t.Exception, TaskContinuationOptions.OnlyOnFaulted);
                    throw new OperationCanceledException(cancellationToken);
                }
            }
            await execution.ConfigureAwait(false);
        }

        /// <summary>Reports on the transfer's own thread, in order (Progress&lt;T&gt; would post each report to the pool).</summary>
        private sealed class InlineProgress : IProgress<DownloadFileProgressReport>
        {
            private readonly Action<DownloadFileProgressReport> _report;
            public InlineProgress(Action<DownloadFileProgressReport> report) => _report = report;
            public void Report(DownloadFileProgressReport value) => _report(value);
        }

        private sealed class InlineUploadProgress : IProgress<UploadFileProgressReport>
        {
            private readonly Action<UploadFileProgressReport> _report;
            public InlineUploadProgress(Action<UploadFileProgressReport> report) => _report = report;
            public void Report(UploadFileProgressReport value) => _report(value);
        }

        /// <summary>
        /// SSH.NET's output streams block in Read, so each pump gets a thread of its own: on pool
        /// threads, two pumps per command starve a fresh process's pool and lines arrive ~0.7 s late.
        /// </summary>
        private static Task PumpLines(Stream stream, Action<string>? onLine) => Task.Factory.StartNew(() =>
        {
            using var reader = new StreamReader(stream, new UTF8Encoding(false), false, 1 << 16, leaveOpen: true);
            string? line;
            while ((line = reader.ReadLine()) != null) onLine?.Invoke(line);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        private static int SignalNumber(string signal) => signal switch
        {
            "HUP" => 1, "INT" => 2, "QUIT" => 3, "ILL" => 4, "ABRT" => 6, "FPE" => 8, "KILL" => 9,
            "SEGV" => 11, "PIPE" => 13, "ALRM" => 14, "TERM" => 15, "USR1" => 10, "USR2" => 12, _ => 0,
        };
    }
}
