using System.IO;
using System.Text;

namespace OpenBsdBuild.Scripts
{
    /// <summary>
    /// A script for a shell's stdin (sh -s). Unlike other input (sources, secrets, a presigned URL),
    /// it is safe to show, so -Verbose names it by its first line.
    /// </summary>
    public sealed class ShellScript : MemoryStream
    {
        public ShellScript(string text) : base(Encoding.UTF8.GetBytes(text), writable: false) => Text = text;

        public string Text { get; }
    }
}
