using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Build
{
    /// <summary>The source upload's stream (SharpZipLib under TarWriter; tar.gz or plain tar) as a real tar unpacks it.</summary>
    public sealed class TarWriterTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-tar-").FullName;

        public void Dispose() => Directory.Delete(_dir, true);

        [Theory]
        [InlineData(CompressionLevel.Fastest)]
        [InlineData(CompressionLevel.NoCompression)]
        public void Long_and_non_ASCII_names_contents_and_the_executable_bit_survive_tar_x(CompressionLevel level)
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

            string archive = Path.Combine(_dir, "src.archive");
            using (var output = File.Create(archive))
                SourcePackager.Pack(SourcePackager.Select(src, true, Array.Empty<string>()), output, level, null, default);
            // gzip's magic only when compressing: "none" is a plain tar, which the guest unpacks without a gunzip.
            byte[] head = File.ReadAllBytes(archive).Take(2).ToArray();
            Assert.Equal(level != CompressionLevel.NoCompression, head[0] == 0x1f && head[1] == 0x8b);
            string dest = Path.Combine(_dir, "dest");
            Directory.CreateDirectory(dest);
            // Through stdin with the guest's own command, as SourceUpload sends it (tar guesses no compression on a pipe).
            Tools.Sh($"cd '{dest}' && {SourcePackager.UnpackCommand(level)} < '{archive}'");

            foreach (string f in files)
                Assert.Equal(File.ReadAllBytes(Path.Combine(src, f)), File.ReadAllBytes(Path.Combine(dest, f)));
            Assert.Equal("755", Tools.Sh($"stat -c %a '{dest}/build.sh'").Trim());
            Assert.Equal("644", Tools.Sh($"stat -c %a '{dest}/README'").Trim());
            // Owner 0 and no names: root unpacking it owns the files, nobody else's account is named.
            Assert.All(Tools.Sh($"tar tvf '{archive}' --numeric-owner").Split('\n', StringSplitOptions.RemoveEmptyEntries), l => Assert.Contains(" 0/0 ", l));
        }
    }
}
