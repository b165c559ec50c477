using System.Globalization;
using System.Text;

namespace OpenBsdBuild.Emulation.Wire;

/// <summary>
/// The flattened parameters of one EC2 Query request (<c>Action=…&amp;InstanceId.1=…</c>).
/// Lists are 1-based (<c>Name.N</c>), structures are dotted (<c>Placement.AvailabilityZone</c>);
/// <see cref="Struct"/> and <see cref="StructList"/> return views with the prefix stripped so
/// handlers read nested shapes with the same calls as top-level ones.
/// </summary>
internal sealed class QueryParameters
{
    private readonly IReadOnlyDictionary<string, string> _values;

    public QueryParameters(IReadOnlyDictionary<string, string> values) => _values = values;

    public IReadOnlyDictionary<string, string> All => _values;

    /// <summary>Parses an application/x-www-form-urlencoded body (also used for GET query strings).</summary>
    public static QueryParameters ParseForm(string body)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Decode(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Decode(pair[(eq + 1)..]);
            values[name] = value; // last one wins, as a lenient server would
        }
        return new QueryParameters(values);
    }

    // Form encoding uses '+' for space; the SDK percent-encodes everything else.
    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    public bool Has(string name) => _values.ContainsKey(name);

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public string Required(string name) =>
        Get(name) is { Length: > 0 } v
            ? v
            : throw Ec2Error.MissingParameter(name);

    public int? GetInt(string name)
    {
        var raw = Get(name);
        if (raw is null) return null;
        return int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw Ec2Error.InvalidParameterValue($"Invalid value '{raw}' for {name}. Value must be an integer.");
    }

    public bool? GetBool(string name)
    {
        var raw = Get(name);
        if (raw is null) return null;
        return bool.TryParse(raw, out var b)
            ? b
            : throw Ec2Error.InvalidParameterValue($"Invalid value '{raw}' for {name}. Value must be true or false.");
    }

    public decimal? GetDecimal(string name)
    {
        var raw = Get(name);
        if (raw is null) return null;
        return decimal.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d
            : throw Ec2Error.InvalidParameterValue($"Invalid value '{raw}' for {name}.");
    }

    /// <summary>Values of <c>prefix.1</c>, <c>prefix.2</c>, … in index order.</summary>
    public IReadOnlyList<string> List(string prefix) =>
        Indexes(prefix).Select(i => _values[$"{prefix}.{i}"]).ToList();

    /// <summary>A view of the members under <c>prefix.</c>, or null if none were sent.</summary>
    public QueryParameters? Struct(string prefix)
    {
        var start = prefix + ".";
        var sub = _values
            .Where(kv => kv.Key.StartsWith(start, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[start.Length..], kv => kv.Value, StringComparer.Ordinal);
        return sub.Count == 0 ? null : new QueryParameters(sub);
    }

    /// <summary>Views of <c>prefix.1.*</c>, <c>prefix.2.*</c>, … in index order.</summary>
    public IReadOnlyList<QueryParameters> StructList(string prefix) =>
        Indexes(prefix).Select(i => Struct($"{prefix}.{i}")).OfType<QueryParameters>().ToList();

    private IEnumerable<int> Indexes(string prefix)
    {
        var start = prefix + ".";
        var found = new SortedSet<int>();
        foreach (var key in _values.Keys)
        {
            if (!key.StartsWith(start, StringComparison.Ordinal)) continue;
            var rest = key.AsSpan(start.Length);
            var dot = rest.IndexOf('.');
            var digits = dot < 0 ? rest : rest[..dot];
            if (int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) found.Add(n);
        }
        return found;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var kv in _values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sb.Append(kv.Key).Append('=').Append(kv.Value).Append('&');
        return sb.ToString().TrimEnd('&');
    }
}
