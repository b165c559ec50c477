using System.Globalization;
using System.Text;
using System.Xml;

namespace OpenBsdBuild.Emulation.Wire;

/// <summary>
/// Writes an EC2 Query response: <c>&lt;{Action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"&gt;</c>
/// with a <c>requestId</c> first. Elements are opened with <see cref="Open"/> (disposed to close)
/// so handler code mirrors the response shape in the API reference. Null leaves are omitted,
/// which is how EC2 says "absent" and how the SDK leaves properties null.
/// </summary>
internal sealed class Ec2Xml
{
    public const string Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/";

    private readonly StringBuilder _buffer = new();
    private readonly XmlWriter _writer;

    public Ec2Xml(string action, string requestId)
    {
        _writer = XmlWriter.Create(_buffer, new XmlWriterSettings { Encoding = Encoding.UTF8, Indent = false });
        _writer.WriteStartDocument();
        _writer.WriteStartElement(action + "Response", Namespace);
        Leaf("requestId", requestId);
    }

    public Scope Open(string name)
    {
        _writer.WriteStartElement(name, Namespace);
        return new Scope(_writer);
    }

    public void Leaf(string name, string? value)
    {
        if (value is null) return;
        _writer.WriteElementString(name, Namespace, value);
    }

    public void Leaf(string name, bool? value) => Leaf(name, value is null ? null : value.Value ? "true" : "false");

    public void Leaf(string name, int? value) => Leaf(name, value?.ToString(CultureInfo.InvariantCulture));

    public void Leaf(string name, long? value) => Leaf(name, value?.ToString(CultureInfo.InvariantCulture));

    public void Leaf(string name, double? value) => Leaf(name, value?.ToString("0.###", CultureInfo.InvariantCulture));

    public void Leaf(string name, DateTimeOffset? value) => Leaf(name, value is null ? null : Timestamp(value.Value));

    /// <summary>ISO 8601 UTC with milliseconds, as EC2 writes timestamps.</summary>
    public static string Timestamp(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>A list element with one <c>&lt;item&gt;</c> per entry (always written, even when empty).</summary>
    public void Items<T>(string listName, IEnumerable<T> items, Action<T> writeItem)
    {
        using (Open(listName))
        {
            foreach (var item in items)
            {
                using (Open("item")) writeItem(item);
            }
        }
    }

    /// <summary>A list of plain strings: <c>&lt;item&gt;value&lt;/item&gt;</c>.</summary>
    public void ValueItems(string listName, IEnumerable<string> values)
    {
        using (Open(listName))
        {
            foreach (var v in values) Leaf("item", v);
        }
    }

    /// <summary>EC2's tagSet; written only when there are tags, as EC2 does.</summary>
    public void TagSet(IReadOnlyDictionary<string, string> tags, string name = "tagSet")
    {
        if (tags.Count == 0) return;
        Items(name, tags, t =>
        {
            Leaf("key", t.Key);
            Leaf("value", t.Value);
        });
    }

    public string Finish()
    {
        _writer.WriteEndElement();
        _writer.WriteEndDocument();
        _writer.Flush();
        // StringBuilder output declares utf-16; the body is sent as UTF-8, so say so.
        return _buffer.ToString().Replace("encoding=\"utf-16\"", "encoding=\"UTF-8\"");
    }

    public readonly struct Scope(XmlWriter writer) : IDisposable
    {
        public void Dispose() => writer.WriteEndElement();
    }
}
