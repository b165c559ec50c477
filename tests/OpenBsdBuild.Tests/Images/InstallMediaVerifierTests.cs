using System;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Media;

namespace OpenBsdBuild.Tests.Images
{
    public sealed class InstallMediaVerifierTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("media-").FullName;
        private readonly SignifyTestKeys _keys = new SignifyTestKeys();

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string WriteFile(string name, string content)
        {
            var path = Path.Combine(_dir, name);
            File.WriteAllText(path, content);
            return path;
        }

        /// <summary>A signed SHA256.sig listing the given files with their real hashes.</summary>
        private byte[] SignedList(params string[] paths)
        {
            var list = new StringBuilder();
            foreach (var path in paths)
                list.Append($"SHA256 ({Path.GetFileName(path)}) = {SignifyTestKeys.Sha256Hex(File.ReadAllBytes(path))}\n");
            return _keys.SignEmbedded(list.ToString());
        }

        [Fact]
        public async Task GoodMedia_Verifies()
        {
            var image = WriteFile("install76.img", "pretend disk image");
            var set = WriteFile("base76.tgz", "pretend base set");

            var list = await new InstallMediaVerifier(_keys.PublicKey).VerifyFilesAsync(SignedList(image, set), new[] { image, set });

            Assert.Equal(2, list.Entries.Count);
            Assert.Equal(SignifyTestKeys.Sha256Hex(File.ReadAllBytes(set)), list.ExpectedHash("base76.tgz"));
        }

        [Fact]
        public async Task ChangedFile_IsAChecksumMismatch()
        {
            var image = WriteFile("install76.img", "pretend disk image");
            var sig = SignedList(image);
            File.AppendAllText(image, "x");

            var ex = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                new InstallMediaVerifier(_keys.PublicKey).VerifyFilesAsync(sig, new[] { image }));
            Assert.Equal("ChecksumMismatch", ex.ErrorId);
            Assert.Equal(FailureKind.SecurityError, ex.Kind);
            Assert.Equal(image, ex.Target);
        }

        [Fact]
        public async Task UnlistedFile_IsMissing()
        {
            var image = WriteFile("install76.img", "pretend disk image");
            var other = WriteFile("miniroot76.img", "another image");

            var ex = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                new InstallMediaVerifier(_keys.PublicKey).VerifyFilesAsync(SignedList(image), new[] { other }));
            Assert.Equal("ChecksumMissing", ex.ErrorId);
            Assert.Equal(FailureKind.SecurityError, ex.Kind);
        }

        [Fact]
        public async Task ListSignedByAnotherKey_StopsBeforeAnyFileIsHashed()
        {
            var image = WriteFile("install76.img", "pretend disk image");
            var stranger = new SignifyTestKeys();

            var ex = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                new InstallMediaVerifier(stranger.PublicKey).VerifyFilesAsync(SignedList(image), new[] { image }));
            Assert.Equal("SignifyKeyMismatch", ex.ErrorId);
        }

        [Fact]
        public void DetachedListSignature_Verifies()
        {
            var list = Encoding.UTF8.GetBytes("SHA256 (bsd) = " + new string('a', 64) + "\n");
            var parsed = new InstallMediaVerifier(_keys.PublicKey).VerifyChecksumList(_keys.SignDetached(list), list, "SHA256");
            Assert.Equal(new string('a', 64), parsed.ExpectedHash("bsd"));
        }

        [Theory]
        [InlineData("SHA256 (bsd) = abc\n")]
        [InlineData("SHA256 (bsd) = " + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + "\nSHA256 (bsd) = " + "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" + "\n")]
        public void AmbiguousList_IsRejected(string text)
        {
            var ex = Assert.Throws<OpenBsdBuildException>(() => Sha256ChecksumList.Parse(text, "SHA256"));
            Assert.Equal("ChecksumListInvalid", ex.ErrorId);
        }

        [Fact]
        public void OtherAlgorithms_AreSkipped()
        {
            var list = Sha256ChecksumList.Parse("MD5 (bsd) = 00\r\nSHA256 (bsd) = " + new string('A', 64) + "\r\n", "SHA256");
            Assert.Equal(new string('a', 64), list.ExpectedHash("bsd"));
        }
    }
}
