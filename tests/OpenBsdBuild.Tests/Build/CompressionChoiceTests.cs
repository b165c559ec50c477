using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Xunit;
using OpenBsdBuild.Builds;

namespace OpenBsdBuild.Tests.Build
{
    /// <summary>The gzip level of the source stream follows what the bytes are, weighted by size (docs/transfers.md).</summary>
    public class CompressionChoiceTests : IDisposable
    {
        private readonly string _tree = Directory.CreateTempSubdirectory("obb-level-").FullName;

        private void Text(string name, int bytes)
        {
            var sb = new StringBuilder();
            var rnd = new Random(name.Length);
            while (sb.Length < bytes) sb.Append("fn item_").Append(rnd.Next(500)).Append("(x: u32) -> u32 { x + 1 }\n");
            File.WriteAllText(Path.Combine(_tree, name), sb.ToString());
        }

        private void Random(string name, int bytes)
        {
            var data = new byte[bytes];
            new Random(bytes).NextBytes(data);
            File.WriteAllBytes(Path.Combine(_tree, name), data);
        }

        private CompressionLevel Choose() => SourcePackager.ChooseLevel(SourcePackager.Select(_tree, true, Array.Empty<string>()));

        [Fact]
        public void Source_text_is_deflated()
        {
            foreach (int i in Enumerable.Range(0, 50)) Text($"f{i}.rs", 20_000);
            Assert.Equal(CompressionLevel.Fastest, Choose());
        }

        [Fact]
        public void Incompressible_bytes_go_as_stored_blocks_even_among_many_small_text_files()
        {
            foreach (int i in Enumerable.Range(0, 200)) Text($"f{i}.rs", 2_000);
            Random("vendor.tar.xz", 8 << 20);
            Assert.Equal(CompressionLevel.NoCompression, Choose());
        }

        [Fact]
        public void An_empty_tree_needs_no_decision()
        {
            File.WriteAllText(Path.Combine(_tree, "empty"), "");
            Assert.Equal(CompressionLevel.Fastest, Choose());
        }

        public void Dispose() => Directory.Delete(_tree, true);
    }
}
