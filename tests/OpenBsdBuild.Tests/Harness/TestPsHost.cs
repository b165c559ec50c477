using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace OpenBsdBuild.Tests.Harness
{
    /// <summary>
    /// A PSHost that records what a user would see on the console (including the "What if:"
    /// text, which the default host throws away) and answers confirmation prompts.
    /// </summary>
    public sealed class TestPsHost : PSHost
    {
        private readonly TestHostUI _ui = new TestHostUI();
        public override CultureInfo CurrentCulture => CultureInfo.InvariantCulture;
        public override CultureInfo CurrentUICulture => CultureInfo.InvariantCulture;
        public override Guid InstanceId { get; } = Guid.NewGuid();
        public override string Name => "OpenBsdBuild.TestHost";
        public override PSHostUserInterface UI => _ui;
        public override Version Version => new Version(1, 0);

        /// <summary>Everything written to the console.</summary>
        public string Text => _ui.Text;
        /// <summary>Answer to confirmation prompts: 0 = Yes, 1 = Yes to All, 2 = No, 3 = No to All.</summary>
        public int ChoiceAnswer { get => _ui.ChoiceAnswer; set => _ui.ChoiceAnswer = value; }
        public IReadOnlyList<string> Prompts => _ui.Prompts;

        public override void EnterNestedPrompt() => throw new NotSupportedException();
        public override void ExitNestedPrompt() => throw new NotSupportedException();
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
        public override void SetShouldExit(int exitCode) { }

        /// <summary>A fixed 120x50 console; the engine asks for one when it stops a pipeline.</summary>
        private sealed class TestRawUI : PSHostRawUserInterface
        {
            public override ConsoleColor BackgroundColor { get; set; } = ConsoleColor.Black;
            public override ConsoleColor ForegroundColor { get; set; } = ConsoleColor.Gray;
            public override Size BufferSize { get; set; } = new Size(120, 50);
            public override Coordinates CursorPosition { get; set; }
            public override int CursorSize { get; set; } = 1;
            public override bool KeyAvailable => false;
            public override Size MaxPhysicalWindowSize => new Size(120, 50);
            public override Size MaxWindowSize => new Size(120, 50);
            public override Coordinates WindowPosition { get; set; }
            public override Size WindowSize { get; set; } = new Size(120, 50);
            public override string WindowTitle { get; set; } = "";
            public override void FlushInputBuffer() { }
            public override BufferCell[,] GetBufferContents(Rectangle rectangle) => new BufferCell[0, 0];
            public override KeyInfo ReadKey(ReadKeyOptions options) => throw new NotSupportedException();
            public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
            public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
            public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
        }

        private sealed class TestHostUI : PSHostUserInterface
        {
            private readonly StringBuilder _text = new StringBuilder();
            public readonly List<string> Prompts = new List<string>();
            public int ChoiceAnswer = 0;

            public string Text { get { lock (_text) return _text.ToString(); } }
            private void Append(string s) { lock (_text) _text.Append(s); }

            public override PSHostRawUserInterface RawUI { get; } = new TestRawUI();
            public override string ReadLine() => "";
            public override SecureString ReadLineAsSecureString() => new SecureString();
            public override void Write(string value) => Append(value);
            public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) => Append(value);
            public override void WriteLine(string value) => Append(value + "\n");
            public override void WriteErrorLine(string value) => Append("ERROR: " + value + "\n");
            public override void WriteDebugLine(string message) => Append("DEBUG: " + message + "\n");
            public override void WriteProgress(long sourceId, ProgressRecord record) { }
            public override void WriteVerboseLine(string message) => Append("VERBOSE: " + message + "\n");
            public override void WriteWarningLine(string message) => Append("WARNING: " + message + "\n");
            public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions) => new Dictionary<string, PSObject>();
            public override PSCredential? PromptForCredential(string caption, string message, string userName, string targetName) => null;
            public override PSCredential? PromptForCredential(string caption, string message, string userName, string targetName,
                PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options) => null;

            public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
            {
                lock (Prompts) Prompts.Add(caption + ": " + message);
                return ChoiceAnswer;
            }
        }
    }
}
