using System.Text.RegularExpressions;
using Markdig;
using Markdig.Syntax;

namespace OpenBsdBuild.HelpCompiler;

/// <summary>
/// Reads the PlatyPS markdown layout the project's docs use: `# Verb-Noun`, then `## SYNOPSIS`,
/// `## SYNTAX`, `## DESCRIPTION`, `## EXAMPLES`, `## PARAMETERS`, `## INPUTS`, `## OUTPUTS`,
/// `## NOTES`, `## RELATED LINKS`. Whatever is missing or malformed is reported as a problem
/// with its line, so the build can point at it.
/// </summary>
public static class MarkdownHelpReader
{
    private static readonly string[] RequiredSections =
        { "SYNOPSIS", "SYNTAX", "DESCRIPTION", "EXAMPLES", "PARAMETERS", "INPUTS", "OUTPUTS", "NOTES", "RELATED LINKS" };

    private static readonly string[] ParameterKeys =
        { "Type", "Parameter Sets", "Aliases", "Required", "Position", "Default value", "Accept pipeline input", "Accept wildcard characters" };

    private static readonly Regex LinkPattern = new(@"\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)");

    public static CommandDoc Read(string[] lines, List<string> problems)
    {
        var doc = new CommandDoc();
        var blocks = Blocks(lines).ToList();
        var title = blocks.FirstOrDefault(b => b.Kind == BlockKind.Heading && b.Level == 1);
        if (title == null) problems.Add("1: the first heading must be '# Verb-Noun'.");
        else doc.Name = title.Text;

        var seen = new HashSet<string>();
        string? section = null;
        string? sub = null;
        int subLine = 0;
        ExampleDoc? example = null;
        ParameterDoc? parameter = null;
        TypeDoc? type = null;

        foreach (var block in blocks)
        {
            if (block.Kind == BlockKind.Heading && block.Level == 2)
            {
                section = block.Text.ToUpperInvariant();
                seen.Add(section);
                sub = null;
                continue;
            }
            if (block.Kind == BlockKind.Heading && block.Level == 3)
            {
                sub = block.Text;
                subLine = block.Line;
                switch (section)
                {
                    case "EXAMPLES":
                        example = new ExampleDoc(Regex.Replace(sub, @"^Example \d+:\s*", ""), "", new List<string>());
                        doc.Examples.Add(example);
                        break;
                    // PlatyPS's standard paragraph on the common parameters: PowerShell's help adds them itself.
                    case "PARAMETERS" when sub == "CommonParameters":
                        parameter = null;
                        break;
                    case "PARAMETERS":
                        parameter = new ParameterDoc { Name = sub.TrimStart('-') };
                        if (!sub.StartsWith("-")) problems.Add($"{block.Line}: a parameter heading is '### -Name'.");
                        doc.Parameters.Add(parameter);
                        break;
                    case "INPUTS":
                        type = new TypeDoc(sub, new List<string>());
                        doc.Inputs.Add(type);
                        break;
                    case "OUTPUTS":
                        type = new TypeDoc(sub, new List<string>());
                        doc.Outputs.Add(type);
                        break;
                }
                continue;
            }
            if (block.Kind == BlockKind.Heading) continue;

            switch (section)
            {
                case "SYNOPSIS" when block.Kind == BlockKind.Paragraph:
                    doc.Synopsis = (doc.Synopsis + " " + block.Text).Trim();
                    break;
                case "DESCRIPTION":
                    doc.Description.Add(block.Text);
                    break;
                case "EXAMPLES" when example != null:
                    if (block.Kind == BlockKind.Code && example.Code.Length == 0)
                        doc.Examples[^1] = example = example with { Code = block.Text };
                    else
                        example.Remarks.Add(block.Text);
                    break;
                case "PARAMETERS" when parameter != null:
                    if (block.Kind == BlockKind.Code && block.Info == "yaml") ReadParameterYaml(parameter, block, problems);
                    else parameter.Description.Add(block.Text);
                    break;
                case "INPUTS" or "OUTPUTS" when type != null:
                    type.Description.Add(block.Text);
                    break;
                case "NOTES":
                    doc.Notes.Add(block.Text);
                    break;
                case "RELATED LINKS":
                    foreach (Match m in LinkPattern.Matches(block.Text))
                        doc.Links.Add((m.Groups["text"].Value, m.Groups["uri"].Value));
                    break;
            }
        }

        foreach (string s in RequiredSections.Where(s => !seen.Contains(s)))
            problems.Add($"1: section '## {s}' is missing.");
        if (seen.Contains("SYNOPSIS") && doc.Synopsis.Length == 0) problems.Add("1: the synopsis is empty.");
        foreach (var e in doc.Examples.Where(e => e.Code.Length == 0 || e.Remarks.Count == 0))
            problems.Add($"1: example '{e.Title}' needs a ```powershell block and a paragraph that explains it.");
        foreach (var p in doc.Parameters.Where(p => p.Description.Count == 0 || p.Type.Length == 0))
            problems.Add($"1: parameter -{p.Name} needs prose and a ```yaml block with at least 'Type:'.");
        return doc;
    }

    private static void ReadParameterYaml(ParameterDoc parameter, Block block, List<string> problems)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in block.Text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon > 0) values[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        foreach (string key in ParameterKeys.Where(k => !values.ContainsKey(k)))
            problems.Add($"{block.Line}: -{parameter.Name}: the yaml block has no '{key}:'.");

        string Get(string key) => values.TryGetValue(key, out string? v) ? v : "";
        parameter.Type = Get("Type");
        parameter.ParameterSets.AddRange(List(Get("Parameter Sets")));
        parameter.Aliases.AddRange(List(Get("Aliases")));
        parameter.Required = Get("Required").StartsWith("True", StringComparison.OrdinalIgnoreCase);
        parameter.Position = Get("Position") is { Length: > 0 } position ? position : "Named";
        parameter.DefaultValue = Get("Default value") is { Length: > 0 } value ? value : "None";
        parameter.PipelineInput = Get("Accept pipeline input") is { Length: > 0 } pipeline ? pipeline : "False";
        parameter.Wildcards = Get("Accept wildcard characters").StartsWith("True", StringComparison.OrdinalIgnoreCase);
    }

    private static IEnumerable<string> List(string value) =>
        value.Split(',').Select(v => v.Trim()).Where(v => v.Length > 0 && !v.Equals("None", StringComparison.OrdinalIgnoreCase));

    private enum BlockKind { Heading, Paragraph, Code }

    private sealed record Block(BlockKind Kind, int Line, string Text, int Level = 0, string Info = "");

    /// <summary>
    /// Markdig's top-level blocks as headings, fenced code blocks and paragraphs. A paragraph is the block's
    /// source lines (soft line breaks joined, list and table lines kept apart), one per blank-line-separated
    /// run, so a loose list reads as its items.
    /// </summary>
    private static IEnumerable<Block> Blocks(string[] lines)
    {
        string text = string.Join("\n", lines);
        var lineStarts = new List<int> { 0 };
        for (int i = 0; i < text.Length; i++) if (text[i] == '\n') lineStarts.Add(i + 1);
        int LineOf(int offset) { int k = lineStarts.BinarySearch(offset); return k >= 0 ? k : ~k - 1; }

        foreach (var block in Markdown.Parse(text))
        {
            switch (block)
            {
                case HeadingBlock heading:
                    yield return new Block(BlockKind.Heading, heading.Line + 1, lines[heading.Line].Trim().TrimStart('#').Trim(), heading.Level);
                    break;
                case FencedCodeBlock code:
                    var codeLines = code.Lines.Lines.Take(code.Lines.Count).Select(l => l.ToString().TrimEnd());
                    yield return new Block(BlockKind.Code, code.Line + 1, string.Join("\n", codeLines).Trim('\n'), Info: code.Info ?? "");
                    break;
                default:
                    var run = new List<string>();
                    int runLine = 0;
                    for (int i = block.Line; i <= LineOf(Math.Max(block.Span.Start, block.Span.End)); i++)
                    {
                        if (lines[i].Trim().Length > 0) { if (run.Count == 0) runLine = i + 1; run.Add(lines[i].TrimEnd()); continue; }
                        if (run.Count > 0) yield return Paragraph(run, runLine);
                        run = new List<string>();
                    }
                    if (run.Count > 0) yield return Paragraph(run, runLine);
                    break;
            }
        }
    }

    private static Block Paragraph(List<string> lines, int line)
    {
        var text = new System.Text.StringBuilder();
        foreach (string l in lines)
        {
            bool structured = Regex.IsMatch(l, @"^\s*(\||[-*]\s|\d+\.\s)");
            if (text.Length > 0) text.Append(structured ? "\n" : " ");
            text.Append(structured ? l : l.Trim());
        }
        return new Block(BlockKind.Paragraph, line, text.ToString());
    }
}
