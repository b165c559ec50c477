using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>Timing of an <see cref="InstallerConversation"/>.</summary>
    public sealed class InstallerConversationSettings
    {
        /// <summary>
        /// A prompt is answered only after the console has been silent this long with the prompt as
        /// the last, unfinished line: a prompt can reach us in several pieces over the serial line.
        /// </summary>
        public TimeSpan QuietPeriod { get; set; } = TimeSpan.FromMilliseconds(300);

        /// <summary>How long an unrecognised line that ends like a question must stay unchanged before the install stops.</summary>
        public TimeSpan UnknownPromptGrace { get; set; } = TimeSpan.FromSeconds(3);

        /// <summary>From the start until the first prompt: the ramdisk kernel boots.</summary>
        public TimeSpan FirstPromptTimeout { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>From an answer to the next prompt.</summary>
        public TimeSpan PromptTimeout { get; set; } = TimeSpan.FromMinutes(5);

        /// <summary>From an answer that starts long work (newfs, fetching and unpacking sets) to the next prompt.</summary>
        public TimeSpan LongOperationTimeout { get; set; } = TimeSpan.FromMinutes(90);

        /// <summary>How much of the transcript error messages show.</summary>
        public int TranscriptTailLength { get; set; } = 2000;

        /// <summary>What ends a typed line: a terminal's Return key sends CR.</summary>
        public string Enter { get; set; } = "\r";
    }

    /// <summary>The outcome of a completed conversation.</summary>
    public sealed class InstallerConversationResult
    {
        internal InstallerConversationResult(InstallerTranscript transcript, IReadOnlyList<InstallerPromptId> answered)
        {
            Transcript = transcript;
            Answered = answered;
        }

        public InstallerTranscript Transcript { get; }
        /// <summary>The prompts in the order they were answered.</summary>
        public IReadOnlyList<InstallerPromptId> Answered { get; }
    }

    /// <summary>
    /// Drives the interactive OpenBSD installer over its serial console. It reads the console,
    /// waits until a prompt has fully appeared (docs/openbsd-notes.md: prompts print as "Question? [default] "
    /// and wait on the same line), recognises it from <see cref="InstallerPrompts"/>, and types the
    /// answer derived from the same <see cref="InstallOptions"/> as the response file.
    /// A line that ends like a question but is not in the catalog stops the install with the end
    /// of the transcript in the message; it is never guessed at.
    /// </summary>
    public sealed class InstallerConversation
    {
        private const int MaxPendingLine = 4096;

        private readonly Stream _fromConsole;
        private readonly Stream _toConsole;
        private readonly InstallOptions _options;
        private readonly InstallerConversationSettings _settings;
        private readonly IOperationReporter _reporter;
        private readonly InstallerAnswers _answers;

        /// <param name="fromConsole">What the installer prints (e.g. QEMU's serial socket).</param>
        /// <param name="toConsole">Where typed answers go; may be the same stream.</param>
        public InstallerConversation(Stream fromConsole, Stream toConsole, InstallOptions options,
            InstallerConversationSettings? settings = null, IOperationReporter? reporter = null)
        {
            _fromConsole = fromConsole ?? throw new ArgumentNullException(nameof(fromConsole));
            _toConsole = toConsole ?? throw new ArgumentNullException(nameof(toConsole));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            _settings = settings ?? new InstallerConversationSettings();
            _reporter = reporter ?? NullReporter.Instance;
            _options.Validate();
            if (options.DiskLayout == null && options.DiskLayoutUrl != null)
                throw OpenBsdBuildException.BadParameter("DiskLayout", null,
                    "is required for an interactive install: only autoinstall can fetch a template from DiskLayoutUrl.",
                    "Pass the disklabel template itself as well as its URL.");
            _answers = new InstallerAnswers(options);
            Transcript.AddSecret(options.RootPassword);
            Transcript.AddSecret(options.User?.Password);
        }

        /// <summary>Grows while the conversation runs; also available after a failure.</summary>
        public InstallerTranscript Transcript { get; } = new InstallerTranscript();

        private int _started;

        /// <summary>Answers prompts until the installer's final question has been answered. Runs once.</summary>
        public async Task<InstallerConversationResult> RunAsync(CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _started, 1) != 0)
                throw new InvalidOperationException("An installer conversation runs only once.");
            var answered = new List<InstallerPromptId>();
            var buffer = new byte[4096];
            var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
            var decoder = Encoding.UTF8.GetDecoder();
            var pending = new StringBuilder();      // unfinished last line since the last newline or answer
            var clock = Stopwatch.StartNew();
            var lastData = TimeSpan.Zero;
            var waitStart = TimeSpan.Zero;
            var waitLimit = _settings.FirstPromptTimeout;
            var waitingFor = "the first installer prompt";
            Task<int>? read = null;

            try
            {
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    read ??= _fromConsole.ReadAsync(buffer, 0, buffer.Length, cancellationToken);
                    if (read.IsCompleted)
                    {
                        // Take in everything that has arrived before deciding that a prompt is complete.
                        int count;
                        try
                        {
                            count = await read.ConfigureAwait(false);
                        }
                        catch (Exception ex) when (ex is IOException || ex is ObjectDisposedException)
                        {
                            read = null;
                            throw Fail("InstallerConsoleClosed", FailureKind.ReadError,
                                $"Reading the installer console failed: {ex.Message}", waitingFor,
                                "Check whether the guest stopped; see the transcript.", ex);
                        }
                        read = null;
                        if (count == 0)
                            throw Fail("InstallerConsoleClosed", FailureKind.ReadError,
                                "The installer console closed before the install finished.", waitingFor,
                                "Check whether the guest stopped or rebooted; see the transcript.");
                        lastData = clock.Elapsed;
                        OnReceived(new string(chars, 0, decoder.GetChars(buffer, 0, count, chars, 0)), pending);
                        continue;
                    }

                    // Work out when something is due: an answer, the unknown-prompt verdict, or the timeout.
                    var now = clock.Elapsed;
                    var line = pending.ToString();
                    var due = waitStart + waitLimit;
                    if (!_carriageReturn && InstallerPrompts.EndsLikePrompt(line) && !InstallerPrompts.IsKnownWait(line))
                    {
                        var silent = now - lastData;
                        if (silent >= _settings.QuietPeriod)
                        {
                            var prompt = InstallerPrompts.Recognize(line);
                            if (prompt != null)
                            {
                                var answer = Answer(prompt);
                                Transcript.Note($"prompt {prompt.Id} ({prompt.Prompt.Variant})");
                                await TypeAsync(answer, cancellationToken).ConfigureAwait(false);
                                answered.Add(prompt.Id);
                                if (answer.Final)
                                    return new InstallerConversationResult(Transcript, answered);
                                pending.Clear();
                                waitStart = clock.Elapsed;
                                waitLimit = prompt.Prompt.WaitAfterAnswer == PromptWait.Long
                                    ? _settings.LongOperationTimeout : _settings.PromptTimeout;
                                waitingFor = $"the next prompt after '{prompt.Text.Trim()}'";
                                continue;
                            }
                            if (silent >= _settings.UnknownPromptGrace)
                                throw Fail("InstallerPromptUnknown", FailureKind.InvalidOperation,
                                    $"The installer asked a question OpenBsdBuild does not know: '{line.Trim()}'. Nothing was typed.",
                                    line.Trim(), "Answer it on the console yourself, or install with a response file instead of -Interactive.");
                            due = Min(due, lastData + _settings.UnknownPromptGrace);
                        }
                        else
                        {
                            due = Min(due, lastData + _settings.QuietPeriod);
                        }
                    }
                    if (now >= waitStart + waitLimit)
                        throw Fail("InstallerPromptTimeout", FailureKind.OperationTimeout,
                            $"No installer prompt within {waitLimit.TotalSeconds:0} s while waiting for {waitingFor}.",
                            waitingFor, "Check that the guest is running and its serial console is connected; raise the timeout for slow set downloads.");

                    var delay = due - now;
                    if (delay < TimeSpan.FromMilliseconds(1)) delay = TimeSpan.FromMilliseconds(1);
                    using (var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                    {
                        await Task.WhenAny(read, Task.Delay(delay, timer.Token)).ConfigureAwait(false);
                        timer.Cancel();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                Transcript.Note("cancelled");
                throw;
            }
            finally
            {
                // A read still pending belongs to a stream the caller will close; observe its fault.
                read?.ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            }
        }

        // The end of the output so far, to spot the completion banner when it spans two reads.
        private string _recent = "";

        private void OnReceived(string text, StringBuilder pending)
        {
            Transcript.Received(text);
            Consume(text, pending);
            _recent += text;
            if (_recent.IndexOf(InstallerPrompts.CompletionBanner, StringComparison.Ordinal) >= 0)
                _answers.InstallCompleted = true;
            if (_recent.Length > 256) _recent = _recent.Substring(_recent.Length - 64);
        }

        private PromptAnswer Answer(InstallerPromptMatch prompt)
        {
            try
            {
                return _answers.Answer(prompt);
            }
            catch (OpenBsdBuildException ex)
            {
                Transcript.Note($"stopped at prompt {prompt.Id}: {ex.Message}");
                throw WithTail(ex);
            }
        }

        private async Task TypeAsync(PromptAnswer answer, CancellationToken cancellationToken)
        {
            Transcript.Sent(answer.Text, answer.Secret);
            _reporter.Verbose("Installer: typed " + (answer.Secret ? InstallerTranscript.Mask : "'" + answer.Text + "'"));
            var bytes = Encoding.UTF8.GetBytes(answer.Text + _settings.Enter);
            await _toConsole.WriteAsync(bytes, 0, bytes.Length, cancellationToken).ConfigureAwait(false);
            await _toConsole.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        // 0: plain text, 1: after ESC, 2: inside a CSI sequence ("ESC [ params letter").
        private int _escapeState;
        // A carriage return was the last character: a newline follows, or the line is overwritten (progress bars).
        private bool _carriageReturn;

        /// <summary>
        /// Keeps the unfinished last line. Complete lines go to the reporter; a carriage return that
        /// is not part of CR LF starts the line over; terminal escape sequences and other control
        /// characters are not part of a prompt.
        /// </summary>
        private void Consume(string text, StringBuilder pending)
        {
            foreach (var ch in text)
            {
                if (_escapeState == 1) { _escapeState = ch == '[' ? 2 : 0; continue; }
                if (_escapeState == 2) { if (ch >= '@' && ch <= '~') _escapeState = 0; continue; }
                if (_carriageReturn)
                {
                    _carriageReturn = false;
                    if (ch != '\n') pending.Clear();
                }
                if (ch == '\u001b') _escapeState = 1;
                else if (ch == '\r') _carriageReturn = true;
                else if (ch == '\n')
                {
                    // The installer never echoes passwords, so console lines can be shown as they are.
                    if (pending.Length > 0) _reporter.Information(pending.ToString(), "console");
                    pending.Clear();
                }
                else if (ch == '\t' || ch >= ' ') pending.Append(ch);
            }
            if (pending.Length > MaxPendingLine) pending.Remove(0, pending.Length - MaxPendingLine);
        }

        private OpenBsdBuildException Fail(string id, FailureKind kind, string message, object target, string action,
            Exception? inner = null)
        {
            Transcript.Note("stopped: " + message);
            return new OpenBsdBuildException(id, kind, message + TailText(), target, action, inner);
        }

        private OpenBsdBuildException WithTail(OpenBsdBuildException ex) =>
            new OpenBsdBuildException(ex.ErrorId, ex.Kind, ex.Message + TailText(), ex.Target, ex.RecommendedAction, ex);

        private string TailText() =>
            "\nEnd of the installer transcript:\n" + Transcript.Tail(_settings.TranscriptTailLength);

        private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
    }
}
