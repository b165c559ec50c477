using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace OpenBsdBuild.Images.Installer
{
    public enum TranscriptDirection
    {
        /// <summary>Text the installer printed.</summary>
        Received,
        /// <summary>An answer typed at a prompt.</summary>
        Sent,
        /// <summary>A remark of the conversation engine (which prompt was recognised, why it stopped).</summary>
        Note,
    }

    public sealed class TranscriptEntry
    {
        internal TranscriptEntry(DateTimeOffset time, TranscriptDirection direction, string text)
        {
            Time = time;
            Direction = direction;
            Text = text;
        }

        public DateTimeOffset Time { get; }
        public TranscriptDirection Direction { get; }
        public string Text { get; internal set; }

        public override string ToString()
        {
            var arrow = Direction switch
            {
                TranscriptDirection.Received => "<<",
                TranscriptDirection.Sent => ">>",
                _ => "--",
            };
            return $"[{Time.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)}] {arrow} {Text}";
        }
    }

    /// <summary>
    /// What was read from and typed at the installer console, with timestamps. Secrets never enter
    /// it: sent passwords are stored masked, and any secret that shows up in received text (it should
    /// not: the installer turns echo off) is masked as well. Thread-safe.
    /// </summary>
    public sealed class InstallerTranscript
    {
        public const string Mask = "********";

        private readonly object _gate = new object();
        private readonly List<TranscriptEntry> _entries = new List<TranscriptEntry>();
        private readonly List<string> _secrets = new List<string>();

        /// <summary>Registers values to be masked wherever they appear in received text.</summary>
        public void AddSecret(string? secret)
        {
            // Very short values would mask ordinary output; the sent answer is masked regardless.
            if (secret == null || secret.Length < 4) return;
            lock (_gate)
            {
                if (!_secrets.Contains(secret!)) _secrets.Add(secret!);
                // Longest first, so a secret containing another is masked whole.
                _secrets.Sort((a, b) => b.Length.CompareTo(a.Length));
            }
        }

        /// <summary>Appends console output; consecutive chunks are merged into one entry.</summary>
        public void Received(string text)
        {
            if (text.Length == 0) return;
            lock (_gate)
            {
                var last = _entries.Count > 0 ? _entries[_entries.Count - 1] : null;
                if (last != null && last.Direction == TranscriptDirection.Received)
                    last.Text = Redact(last.Text + text);
                else
                    _entries.Add(new TranscriptEntry(DateTimeOffset.UtcNow, TranscriptDirection.Received, Redact(text)));
            }
        }

        public void Sent(string text, bool secret)
        {
            lock (_gate)
                _entries.Add(new TranscriptEntry(DateTimeOffset.UtcNow, TranscriptDirection.Sent, secret ? Mask : Redact(text)));
        }

        public void Note(string text)
        {
            lock (_gate)
                _entries.Add(new TranscriptEntry(DateTimeOffset.UtcNow, TranscriptDirection.Note, Redact(text)));
        }

        public IReadOnlyList<TranscriptEntry> Entries
        {
            get { lock (_gate) return _entries.ToList(); }
        }

        /// <summary>All console output in one string, as a terminal would have shown it (without the masked answers).</summary>
        public string ReceivedText
        {
            get
            {
                lock (_gate)
                    return string.Concat(_entries.Where(e => e.Direction == TranscriptDirection.Received).Select(e => e.Text));
            }
        }

        /// <summary>The whole transcript, one entry per line group.</summary>
        public override string ToString()
        {
            var text = new StringBuilder();
            foreach (var entry in Entries) text.Append(entry).Append('\n');
            return text.ToString();
        }

        /// <summary>The last <paramref name="maxChars"/> characters of <see cref="ToString"/>, for error messages.</summary>
        public string Tail(int maxChars = 2000)
        {
            var all = ToString();
            return all.Length <= maxChars ? all : "…" + all.Substring(all.Length - maxChars);
        }

        private string Redact(string text)
        {
            foreach (var secret in _secrets)
                text = text.Replace(secret, Mask);
            return text;
        }
    }
}
