using System.Xml.Linq;

namespace OpenBsdBuild.HelpCompiler;

/// <summary>Writes the MAML that Get-Help reads for binary cmdlets (&lt;assembly&gt;.dll-Help.xml).</summary>
public static class MamlWriter
{
    private static readonly XNamespace Msh = "http://msh";
    private static readonly XNamespace Maml = "http://schemas.microsoft.com/maml/2004/10";
    private static readonly XNamespace Command = "http://schemas.microsoft.com/maml/dev/command/2004/10";
    private static readonly XNamespace Dev = "http://schemas.microsoft.com/maml/dev/2004/10";

    public static XDocument Write(IEnumerable<CommandDoc> commands) =>
        new(new XDeclaration("1.0", "utf-8", null),
            new XElement(Msh + "helpItems", new XAttribute("schema", "maml"),
                new XAttribute(XNamespace.Xmlns + "maml", Maml),
                new XAttribute(XNamespace.Xmlns + "command", Command),
                new XAttribute(XNamespace.Xmlns + "dev", Dev),
                commands.Select(CommandElement)));

    private static XElement CommandElement(CommandDoc doc)
    {
        string[] verbNoun = doc.Name.Split('-', 2);
        return new XElement(Command + "command",
            new XElement(Command + "details",
                new XElement(Command + "name", doc.Name),
                new XElement(Command + "verb", verbNoun[0]),
                new XElement(Command + "noun", verbNoun.Length > 1 ? verbNoun[1] : ""),
                Description(new[] { doc.Synopsis })),
            Description(doc.Description),
            new XElement(Command + "syntax", SyntaxItems(doc)),
            new XElement(Command + "parameters", doc.Parameters.Select(Parameter)),
            new XElement(Command + "inputTypes", doc.Inputs.Select(t => TypeElement("inputType", t))),
            new XElement(Command + "returnValues", doc.Outputs.Select(t => TypeElement("returnValue", t))),
            new XElement(Maml + "alertSet", new XElement(Maml + "alert", Paragraphs(doc.Notes))),
            new XElement(Command + "examples", doc.Examples.Select((e, i) => new XElement(Command + "example",
                new XElement(Maml + "title", $"--------- Example {i + 1}: {e.Title} ---------"),
                new XElement(Dev + "code", e.Code),
                new XElement(Dev + "remarks", Paragraphs(e.Remarks))))),
            // The first link with a URI is what Get-Help -Online opens: the cmdlet's own page.
            new XElement(Maml + "relatedLinks",
                new[] { (Text: "Online Version:", Uri: doc.Name + ".md") }.Concat(doc.Links).Select(l => new XElement(Maml + "navigationLink",
                    new XElement(Maml + "linkText", l.Text),
                    new XElement(Maml + "uri", Absolute(l.Uri))))));
    }

    /// <summary>Where the docs are published; links between docs pages are relative to it.</summary>
    public const string DocsBaseUri = "https://github.com/openbsdbuild/OpenBsdBuild/blob/main/docs/";

    private static string Absolute(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var absolute) && (absolute.Scheme == "http" || absolute.Scheme == "https")
            ? uri
            : new Uri(new Uri(DocsBaseUri), uri).ToString();

    /// <summary>One syntax line per parameter set, in the order the sets first appear.</summary>
    private static IEnumerable<XElement> SyntaxItems(CommandDoc doc)
    {
        var sets = doc.Parameters.SelectMany(p => p.ParameterSets).Where(s => s != "(All)").Distinct().ToList();
        if (sets.Count == 0) sets.Add("(All)");
        return sets.Select(set => new XElement(Command + "syntaxItem",
            new XElement(Maml + "name", doc.Name),
            doc.Parameters.Where(p => p.InAllSets || p.ParameterSets.Contains(set)).Select(Parameter)));
    }

    private static XElement Parameter(ParameterDoc p)
    {
        bool isSwitch = p.Type.Equals("SwitchParameter", StringComparison.OrdinalIgnoreCase);
        return new XElement(Command + "parameter",
            new XAttribute("required", p.Required ? "true" : "false"),
            new XAttribute("variableLength", p.Type.EndsWith("[]") ? "true" : "false"),
            new XAttribute("globbing", p.Wildcards ? "true" : "false"),
            new XAttribute("pipelineInput", p.PipelineInput),
            new XAttribute("position", p.Position.Equals("Named", StringComparison.OrdinalIgnoreCase) ? "named" : p.Position),
            new XAttribute("aliases", p.Aliases.Count == 0 ? "none" : string.Join(", ", p.Aliases)),
            new XElement(Maml + "name", p.Name),
            Description(p.Description),
            isSwitch ? null : new XElement(Command + "parameterValue", new XAttribute("required", "true"), new XAttribute("variableLength", "false"), p.Type),
            new XElement(Dev + "type", new XElement(Maml + "name", p.Type), new XElement(Maml + "uri")),
            new XElement(Dev + "defaultValue", p.DefaultValue));
    }

    private static XElement TypeElement(string element, TypeDoc t) =>
        new(Command + element,
            new XElement(Dev + "type", new XElement(Maml + "name", t.TypeName)),
            Description(t.Description));

    private static XElement Description(IEnumerable<string> paragraphs) => new(Maml + "description", Paragraphs(paragraphs));

    private static IEnumerable<XElement> Paragraphs(IEnumerable<string> paragraphs) => paragraphs.Select(p => new XElement(Maml + "para", p));
}
