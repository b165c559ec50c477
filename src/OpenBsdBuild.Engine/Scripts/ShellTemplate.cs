using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace OpenBsdBuild.Scripts
{
    /// <summary>
    /// A shell script kept as a file in the source tree (<c>*.sh</c> beside the code that sends it, embedded
    /// in the engine), so shellcheck can lint it and a person can run it by hand.
    /// <para>
    /// Its inputs are declared one per line, each line exactly <c>: "${NAME?what it is}"</c> (or <c>:?</c> when
    /// it must not be empty). Run by hand, the shell reads them from the environment and stops with that
    /// text when one is missing. Rendered, each such line becomes <c>NAME='value'</c> (shell-quoted), so no
    /// value can become code; a declared input without a value, or a value for no declared input, is an error.
    /// </para>
    /// </summary>
    public sealed class ShellTemplate
    {
        private const string ResourcePrefix = "OpenBsdBuild.Scripts.";

        /// <summary>One placeholder line: <c>: "${NAME?text}"</c> or <c>: "${NAME:?text}"</c>, nothing else on it.</summary>
        private static readonly Regex Placeholder = new Regex(@"^: ""\$\{(?<name>[A-Z][A-Z0-9_]*)(?<nonEmpty>:?)\?[^""}']*\}""$", RegexOptions.CultureInvariant);

        /// <summary>Anything that looks like a placeholder but is not one (so a typo fails, instead of shipping unfilled).</summary>
        private static readonly Regex NearPlaceholder = new Regex(@"^\s*:\s+""?\$\{[A-Za-z_][A-Za-z0-9_]*:?\?", RegexOptions.CultureInvariant);

        private static readonly Regex VariableName = new Regex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);

        private readonly string[] _lines;

        private ShellTemplate(string name, string text)
        {
            Name = name;
            Text = text;
            _lines = text.Replace("\r\n", "\n").Split('\n');
            var inputs = new List<(string, bool)>();
            foreach (string line in _lines)
            {
                Match m = Placeholder.Match(line);
                if (m.Success)
                {
                    string input = m.Groups["name"].Value;
                    if (inputs.Any(i => i.Item1 == input)) throw new InvalidDataException($"Script {name} declares {input} twice.");
                    inputs.Add((input, m.Groups["nonEmpty"].Value.Length > 0));
                }
                else if (NearPlaceholder.IsMatch(line))
                    throw new InvalidDataException($"Script {name}: '{line.Trim()}' is not a placeholder line (exactly : \"${{NAME?text}}\" or : \"${{NAME:?text}}\", NAME in capitals).");
            }
            Inputs = inputs.Select(i => i.Item1).ToList();
            _nonEmpty = new HashSet<string>(inputs.Where(i => i.Item2).Select(i => i.Item1), StringComparer.Ordinal);
        }

        private readonly HashSet<string> _nonEmpty;

        /// <summary>The file name, e.g. <c>host-probe.sh</c>.</summary>
        public string Name { get; }

        /// <summary>The file as it is in the source tree.</summary>
        public string Text { get; }

        /// <summary>The declared inputs, in the order of their lines.</summary>
        public IReadOnlyList<string> Inputs { get; }

        /// <summary>Every script embedded in the engine, by file name.</summary>
        public static IReadOnlyList<string> All =>
            typeof(ShellTemplate).Assembly.GetManifestResourceNames()
                .Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal))
                .Select(r => r.Substring(ResourcePrefix.Length))
                .OrderBy(r => r, StringComparer.Ordinal)
                .ToList();

        private static readonly Dictionary<string, ShellTemplate> Loaded = new Dictionary<string, ShellTemplate>(StringComparer.Ordinal);

        /// <summary>The embedded script <paramref name="fileName"/> (e.g. <c>host-probe.sh</c>).</summary>
        public static ShellTemplate Load(string fileName)
        {
            lock (Loaded)
            {
                if (Loaded.TryGetValue(fileName, out var known)) return known;
                using Stream stream = typeof(ShellTemplate).Assembly.GetManifestResourceStream(ResourcePrefix + fileName)
                    ?? throw new ArgumentException($"No script {fileName} is embedded in the engine.", nameof(fileName));
                using var reader = new StreamReader(stream, new UTF8Encoding(false));
                var template = new ShellTemplate(fileName, reader.ReadToEnd());
                Loaded[fileName] = template;
                return template;
            }
        }

        /// <summary>A template from text (tests of the placeholder rules).</summary>
        internal static ShellTemplate FromText(string name, string text) => new ShellTemplate(name, text);

        /// <summary>
        /// The script to send as a command or on stdin: the leading shebang and comment block (which are for
        /// readers and shellcheck) dropped, so its first line, which -Verbose shows, is its first command.
        /// </summary>
        public string Render(ShellInputs inputs) => Fill(inputs, keepHeader: false);

        /// <summary>The whole file with its inputs filled, shebang and all (a script that is run as a file, like EC2 user data).</summary>
        public string RenderFile(ShellInputs inputs) => Fill(inputs, keepHeader: true);

        private string Fill(ShellInputs inputs, bool keepHeader)
        {
            var unknown = inputs.Names.Where(n => !Inputs.Contains(n)).ToList();
            if (unknown.Count > 0) throw new ArgumentException($"Script {Name} has no input {string.Join(", ", unknown)} (it declares {(Inputs.Count == 0 ? "none" : string.Join(", ", Inputs))}).");
            var missing = Inputs.Where(n => !inputs.Names.Contains(n)).ToList();
            if (missing.Count > 0) throw new ArgumentException($"Script {Name} needs a value for {string.Join(", ", missing)}.");
            var clash = inputs.Exported.Where(n => Inputs.Contains(n)).ToList();
            if (clash.Count > 0) throw new ArgumentException($"Script {Name} uses {string.Join(", ", clash)} itself: it cannot pass {(clash.Count == 1 ? "it" : "them")} on as environment.");
            foreach (string name in _nonEmpty)
                if (inputs.IsEmpty(name)) throw new ArgumentException($"Script {Name} needs a non-empty value for {name}.");

            var s = new StringBuilder();
            int start = 0;
            if (!keepHeader)
                while (start < _lines.Length && (_lines[start].StartsWith("#", StringComparison.Ordinal) || _lines[start].Trim().Length == 0)) start++;
            int end = _lines.Length;
            while (end > start && _lines[end - 1].Length == 0) end--; // the file's final newline comes back below
            for (int i = start; i < end; i++)
            {
                Match m = Placeholder.Match(_lines[i]);
                if (m.Success) inputs.Write(m.Groups["name"].Value, s);
                else s.Append(_lines[i]).Append('\n');
            }
            return s.ToString();
        }

        internal static bool IsVariableName(string name) => VariableName.IsMatch(name);
    }

    /// <summary>Values for a <see cref="ShellTemplate"/>'s inputs.</summary>
    public sealed class ShellInputs
    {
        private readonly Dictionary<string, string> _values = new Dictionary<string, string>(StringComparer.Ordinal);
        private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _exports = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);

        /// <summary>NAME='value'.</summary>
        public ShellInputs Set(string name, string value)
        {
            if (value.IndexOf('\0') >= 0) throw new ArgumentException($"The value for {name} contains a NUL character, which no shell variable can hold.", nameof(value));
            _values.Add(name, value);
            return this;
        }

        public ShellInputs Set(string name, long value) => Set(name, value.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public ShellInputs Set(string name, bool value) => Set(name, value ? "yes" : "no");

        /// <summary>
        /// Environment variables the script passes on: each becomes <c>VAR='value'; export VAR</c>, and
        /// NAME gets their names, separated by spaces (by hand: export them yourself and set NAME).
        /// </summary>
        public ShellInputs SetExports(string name, IReadOnlyDictionary<string, string> variables)
        {
            foreach (var kv in variables)
            {
                if (!ShellTemplate.IsVariableName(kv.Key)) throw new ArgumentException($"'{kv.Key}' is not a valid environment variable name.", nameof(variables));
                if (kv.Value.IndexOf('\0') >= 0) throw new ArgumentException($"The value of {kv.Key} contains a NUL character.", nameof(variables));
            }
            _exports.Add(name, variables);
            return Set(name, string.Join(" ", variables.Keys));
        }

        /// <summary>Variable names, separated by spaces (each checked, so the list splits back into exactly these).</summary>
        public ShellInputs SetNames(string name, IEnumerable<string> variableNames)
        {
            var names = variableNames.ToList();
            foreach (string n in names)
                if (!ShellTemplate.IsVariableName(n)) throw new ArgumentException($"'{n}' is not a valid variable name.", nameof(variableNames));
            return Set(name, string.Join(" ", names));
        }

        internal IEnumerable<string> Names => _values.Keys;

        internal IEnumerable<string> Exported => _exports.Values.SelectMany(v => v.Keys);

        internal bool IsEmpty(string name) => _values[name].Length == 0;

        internal void Write(string name, StringBuilder s)
        {
            if (_exports.TryGetValue(name, out var variables))
                foreach (var kv in variables) s.Append(kv.Key).Append('=').Append(ShellQuote.Quote(kv.Value)).Append("; export ").Append(kv.Key).Append('\n');
            s.Append(name).Append('=').Append(ShellQuote.Quote(_values[name])).Append('\n');
        }
    }
}
