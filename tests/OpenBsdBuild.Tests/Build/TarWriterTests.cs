using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Build
{
    /// <summary>The source upload's tar.gz (SharpZipLib under TarWriter) as a real tar unpacks it.</summary>
    public sealed class TarWriterTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-tar-").FullName;

        public void Dispose() => Directory.Delete(_dir, true);

        [Fact]
        public void Long_and_non_ASCII_names_contents_and_the_executable_bit_survive_tar_x()
        {
            Tools.Require("tar");
            string src = Path.Combine(_dir, "src");
            string deep = string.Join("/", Enumerable.Range(0, 12).Select(i => $"directory-{i:00}")); // 155 bytes: past ustar's 100
            var files = new[] { "build.sh", "README", deep + "/leaf.c", "données/éléphant-ünïcödé.txt", new string('n', 99) + "é" };
            foreach (string f in files)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(src, f))!);
                File.WriteAllText(Path.Combine(src, f), "content of " + f + "\n");
            }
            File.WriteAllBytes(Path.Combine(src, "README"), new byte[700_000].Select((_, i) => (byte)(i * 31)).ToArray());
            Tools.Sh($"chmod 755 '{src}/build.sh'");

            string archive = Path.Combine(_dir, "src.tar.gz");
            using (var output = File.Create(archive))
                SourcePackager.Pack(SourcePackager.Select(src, true, Array.Empty<string>()), output, CompressionLevel.Fastest, null, default);
            string dest = Path.Combine(_dir, "dest");
            Directory.CreateDirectory(dest);
            Tools.Sh($"tar xzf '{archive}' -C '{dest}'");

            foreach (string f in files)
                Assert.Equal(File.ReadAllBytes(Path.Combine(src, f)), File.ReadAllBytes(Path.Combine(dest, f)));
            Assert.Equal("755", Tools.Sh($"stat -c %a '{dest}/build.sh'").Trim());
            Assert.Equal("644", Tools.Sh($"stat -c %a '{dest}/README'").Trim());
            // Owner 0 and no names: root unpacking it owns the files, nobody else's account is named.
            Assert.All(Tools.Sh($"tar tvzf '{archive}' --numeric-owner").Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Contains(" 0/0 ", l));
        }
    }
}
