using System.Text.RegularExpressions;

namespace OpenBsdBuild.Emulation.Wire;

/// <summary>
/// EC2 <c>Filter.N.Name</c>/<c>Filter.N.Value.M</c> semantics: values of one filter are OR-ed,
/// filters are AND-ed, values may use <c>*</c> and <c>?</c> wildcards, and <c>tag:KEY</c>,
/// <c>tag-key</c>, <c>tag-value</c> work on any taggable resource. An unsupported filter
/// name is an error, as on EC2, so a typo in the module fails loudly instead of matching all.
/// </summary>
internal sealed class Filters
{
    private readonly IReadOnlyList<(string Name, IReadOnlyList<Regex> Patterns)> _filters;

    private Filters(IReadOnlyList<(string, IReadOnlyList<Regex>)> filters) => _filters = filters;

    public bool IsEmpty => _filters.Count == 0;

    public static Filters Parse(QueryParameters query, bool taggable, params string[] supported)
    {
        var parsed = new List<(string, IReadOnlyList<Regex>)>();
        foreach (var f in query.StructList("Filter"))
        {
            var name = f.Required("Name");
            var isTagFilter = name.StartsWith("tag:", StringComparison.Ordinal) || name is "tag-key" or "tag-value";
            if (!(taggable && isTagFilter) && !supported.Contains(name, StringComparer.Ordinal))
                throw Ec2Error.InvalidParameterValue($"The filter '{name}' is invalid");
            parsed.Add((name, f.List("Value").Select(Wildcard).ToList()));
        }
        return new Filters(parsed);
    }

    /// <param name="field">Values a resource has for a (non-tag) filter name.</param>
    /// <param name="tags">The resource's tags, for tag filters.</param>
    public bool Matches(Func<string, IEnumerable<string?>> field, IReadOnlyDictionary<string, string>? tags = null)
    {
        foreach (var (name, patterns) in _filters)
        {
            IEnumerable<string?> candidates = name switch
            {
                _ when name.StartsWith("tag:", StringComparison.Ordinal) =>
                    tags is not null && tags.TryGetValue(name[4..], out var v) ? [v] : [],
                "tag-key" => tags?.Keys ?? Enumerable.Empty<string>(),
                "tag-value" => tags?.Values ?? Enumerable.Empty<string>(),
                _ => field(name),
            };
            if (!candidates.Any(c => c is not null && patterns.Any(p => p.IsMatch(c)))) return false;
        }
        return true;
    }

    private static Regex Wildcard(string value) =>
        new("^" + Regex.Escape(value).Replace(@"\*", ".*").Replace(@"\?", ".") + "$", RegexOptions.Singleline);

    /// <summary>Convenience for filter field lookups: one value.</summary>
    public static IEnumerable<string?> One(string? value) => [value];
}
