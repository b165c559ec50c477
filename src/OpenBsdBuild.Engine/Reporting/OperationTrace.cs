using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Reporting
{
    /// <summary>
    /// The -Verbose trace of every external action: each command run on a host or guest, each file
    /// transfer, SSH connection and port forward is announced as one line naming where and what
    /// ("root@10.0.0.2:22: qemu-img info ..."). It is ambient (AsyncLocal), set once per cmdlet
    /// invocation and flowing into every task the engine starts, so no engine call has to pass a
    /// reporter to the shells. Without -Verbose nothing is set and nothing is formatted.
    /// </summary>
    public static class OperationTrace
    {
        /// <summary>Past this, a one-line command is cut (a QEMU command line is ~1 kB and stays whole).</summary>
        internal const int MaxShown = 2000;

        private static readonly AsyncLocal<Scope?> Current = new AsyncLocal<Scope?>();

        /// <summary>
        /// Announces to <paramref name="reporter"/> from here on, in this flow and the tasks it starts.
        /// Call it at the start of the work's own task, so the setting dies with it (null: announce nothing).
        /// </summary>
        public static void Use(IOperationReporter? reporter) =>
            Current.Value = reporter == null ? null : new Scope(reporter, new SecretMasker(Array.Empty<string>()), Array.Empty<string>(), null);

        /// <summary>
        /// Until disposed, each distinct command is announced once: for polls that run the same command
        /// every few seconds (liveness checks, the connection watchdog), which would bury everything else.
        /// </summary>
        public static IDisposable Polling() =>
            Push(s => new Scope(s.Reporter, s.Masker, s.Secrets, new HashSet<string>(StringComparer.Ordinal)));

        /// <summary>Until disposed, these values show as *** (a build's -Secret values; a user may also have typed one into -Command).</summary>
        public static IDisposable Masking(IEnumerable<string> secrets) => Push(s =>
        {
            var all = s.Secrets.Concat(secrets.Where(v => !string.IsNullOrEmpty(v))).Distinct().ToArray();
            return new Scope(s.Reporter, new SecretMasker(all), all, s.Announced);
        });

        /// <summary>A command about to run on <paramref name="where"/>; <paramref name="input"/> is what its stdin gets, if anything.</summary>
        internal static void Command(string where, string command, Stream? input)
        {
            var scope = Current.Value;
            if (scope == null) return;
            var notes = new List<string>();
            string shown = Shorten(scope.Masker.Mask(command), out string? hidden);
            if (hidden != null) notes.Add(hidden);
            if (input is ShellScript script)
            {
                string text = scope.Masker.Mask(script.Text);
                notes.Add($"stdin: script {Shorten(text, out _)} ({Size(text)})");
            }
            else if (input != null) notes.Add("stdin: data");
            if (scope.Announced != null)
            {
                lock (scope.Announced)
                    if (!scope.Announced.Add(where + "\n" + command)) return;
                notes.Add("polled, shown once");
            }
            // Notes go after "  # ", like a shell comment, so the command itself reads as it ran.
            scope.Reporter.Verbose($"{where}: {shown}{(notes.Count == 0 ? "" : "  # " + string.Join("; ", notes))}");
        }

        /// <summary>A file fetched from <paramref name="where"/> (SFTP, or a copy on this machine).</summary>
        internal static void Download(string where, string verb, string path, Stream destination) =>
            Current.Value?.Reporter.Verbose($"{where}: {verb} {ShellQuote.Quote(path)}{(LocalName(destination) is string local ? " -> " + local : "")}");

        /// <summary>A file written on <paramref name="where"/> (SFTP, or a copy on this machine).</summary>
        internal static void Upload(string where, string verb, Stream source, string path) =>
            Current.Value?.Reporter.Verbose($"{where}: {verb} {(LocalName(source) is string local ? local + " -> " : "")}{ShellQuote.Quote(path)}");

        private static string? LocalName(Stream stream) => (stream as FileStream)?.Name ?? (stream as INamedStream)?.Name;

        /// <summary>Anything else external: an SSH connection, a port forward.</summary>
        internal static void Action(string where, string what) => Current.Value?.Reporter.Verbose($"{where}: {what}");

        /// <summary>
        /// The first line, cut at <see cref="MaxShown"/>; <paramref name="hidden"/> says how big the whole is
        /// when that is not all of it. Scripts here are one line by design; a rare multi-line one is named by its start.
        /// </summary>
        internal static string Shorten(string text, out string? hidden)
        {
            int newline = text.IndexOf('\n');
            string first = (newline < 0 ? text : text.Substring(0, newline)).TrimEnd('\r');
            bool cut = first.Length > MaxShown;
            if (cut) first = first.Substring(0, MaxShown) + "...";
            hidden = cut || newline >= 0 ? Size(text) : null;
            return first;
        }

        private static string Size(string text)
        {
            int lines = text.TrimEnd('\n').Split('\n').Length;
            return $"{lines} line{(lines == 1 ? "" : "s")}, {text.Length:N0} chars";
        }

        private static IDisposable Push(Func<Scope, Scope> derive)
        {
            var previous = Current.Value;
            if (previous == null) return Restore.Nothing;
            Current.Value = derive(previous);
            return new Restore(previous);
        }

        private sealed class Scope
        {
            public Scope(IOperationReporter reporter, SecretMasker masker, string[] secrets, HashSet<string>? announced)
            {
                Reporter = reporter;
                Masker = masker;
                Secrets = secrets;
                Announced = announced;
            }

            public IOperationReporter Reporter { get; }
            public SecretMasker Masker { get; }
            public string[] Secrets { get; }
            /// <summary>Set inside <see cref="Polling"/>: what was already announced.</summary>
            public HashSet<string>? Announced { get; }
        }

        private sealed class Restore : IDisposable
        {
            public static readonly Restore Nothing = new Restore(null);
            private readonly Scope? _previous;
            public Restore(Scope? previous) => _previous = previous;
            public void Dispose()
            {
                if (_previous != null) Current.Value = _previous;
            }
        }
    }

    /// <summary>A stream that writes to a named file through a wrapper (hashing, counting): the trace names the file.</summary>
    internal interface INamedStream
    {
        string? Name { get; }
    }
}
