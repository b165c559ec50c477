namespace OpenBsdBuild.HelpCompiler;

/// <summary>One cmdlet's help as read from docs/&lt;Verb-Noun&gt;.md.</summary>
public sealed class CommandDoc
{
    public string Name { get; set; } = "";
    public string Synopsis { get; set; } = "";
    public List<string> Description { get; } = new();
    public List<ExampleDoc> Examples { get; } = new();
    public List<ParameterDoc> Parameters { get; } = new();
    public List<TypeDoc> Inputs { get; } = new();
    public List<TypeDoc> Outputs { get; } = new();
    public List<string> Notes { get; } = new();
    public List<(string Text, string Uri)> Links { get; } = new();
}

public sealed record ExampleDoc(string Title, string Code, List<string> Remarks);

public sealed record TypeDoc(string TypeName, List<string> Description);

public sealed class ParameterDoc
{
    public string Name { get; set; } = "";
    public List<string> Description { get; } = new();
    public string Type { get; set; } = "";
    public List<string> ParameterSets { get; } = new();
    public List<string> Aliases { get; } = new();
    public bool Required { get; set; }
    public string Position { get; set; } = "Named";
    public string DefaultValue { get; set; } = "None";
    public string PipelineInput { get; set; } = "False";
    public bool Wildcards { get; set; }

    public bool InAllSets => ParameterSets.Count == 0 || ParameterSets.Contains("(All)");
}
