using OpenBsdBuild.HelpCompiler;

// Usage: OpenBsdBuild.HelpCompiler <docs folder> <output .dll-Help.xml>
// Every docs/<Verb-Noun>.md becomes one command in the MAML file; other pages (getting-started.md, ...) are skipped.
// Problems are printed in MSBuild's warning format so the build points at the file and line.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: OpenBsdBuild.HelpCompiler <docs folder> <output .dll-Help.xml>");
    return 2;
}
string docs = Path.GetFullPath(args[0]);
var commands = new List<CommandDoc>();
foreach (string file in Directory.GetFiles(docs, "*.md").Order(StringComparer.Ordinal))
{
    if (!System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(file), @"^[A-Z][a-z]+-[A-Za-z0-9]+\.md$")) continue;
    var problems = new List<string>();
    var doc = MarkdownHelpReader.Read(File.ReadAllLines(file), problems);
    if (doc.Name != Path.GetFileNameWithoutExtension(file))
        problems.Add($"1: the title '# {doc.Name}' does not match the file name.");
    foreach (string p in problems)
    {
        int colon = p.IndexOf(':');
        Console.WriteLine($"{file}({p[..colon]}): warning OBBHELP: {p[(colon + 1)..].Trim()}");
    }
    commands.Add(doc);
}
string output = Path.GetFullPath(args[1]);
Directory.CreateDirectory(Path.GetDirectoryName(output)!);
MamlWriter.Write(commands).Save(output);
Console.WriteLine($"Help for {commands.Count} cmdlets -> {output}");
return 0;
