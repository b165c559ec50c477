using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Xunit;
using Xunit.Abstractions;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Media;

namespace OpenBsdBuild.Tests.Images
{
    public class SignifyTests
    {
        private const string Checksums =
            "SHA256 (base76.tgz) = 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\n" +
            "SHA256 (install76.img) = 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

        private readonly ITestOutputHelper _output;

        public SignifyTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public void EmbeddedSignature_Verifies_AndReturnsTheSignedList()
        {
            var keys = new SignifyTestKeys();
            var file = keys.SignEmbedded(Checksums);

            var message = Signify.VerifyEmbedded(keys.PublicKey, file, "SHA256.sig");

            Assert.Equal(Checksums, Encoding.UTF8.GetString(message));
            var signature = SignifySignature.Parse(file, "SHA256.sig");
            Assert.Equal("verify with openbsd-76-base.pub", signature.Comment);
            Assert.Equal(keys.PublicKey.KeyNumberHex, signature.KeyNumberHex);
        }

        [Fact]
        public void PublicKey_RoundTripsThroughItsFileText()
        {
            var keys = new SignifyTestKeys();
            var text = keys.PublicKey.ToFileText();
            // base64 of "Ed" + key number: every signify key line starts with "RW".
            Assert.StartsWith("untrusted comment: openbsd-76-base public key\nRW", text);
            var parsed = SignifyPublicKey.Parse(text, "openbsd-76-base.pub");
            Assert.Equal(keys.PublicKey.Key, parsed.Key);
            Assert.Equal(keys.KeyNumber, parsed.KeyNumber);
        }

        [Fact]
        public void TamperedContent_IsABadSignature()
        {
            var keys = new SignifyTestKeys();
            var file = keys.SignEmbedded(Checksums);
            var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(file).Replace("0f1e2d3c", "0f1e2d3d"));

            var ex = Assert.Throws<OpenBsdBuildException>(() => Signify.VerifyEmbedded(keys.PublicKey, tampered, "SHA256.sig"));
            Assert.Equal("SignifySignatureBad", ex.ErrorId);
            Assert.Equal(FailureKind.SecurityError, ex.Kind);
        }

        [Fact]
        public void WrongKey_WithTheSameKeyNumber_IsABadSignature()
        {
            var signer = new SignifyTestKeys();
            var other = new SignifyTestKeys(signer.KeyNumber);

            var ex = Assert.Throws<OpenBsdBuildException>(() => Signify.VerifyEmbedded(other.PublicKey, signer.SignEmbedded(Checksums), "SHA256.sig"));
            Assert.Equal("SignifySignatureBad", ex.ErrorId);
        }

        [Fact]
        public void WrongKeyNumber_IsAKeyMismatch()
        {
            var signer = new SignifyTestKeys();
            var other = new SignifyTestKeys();

            var ex = Assert.Throws<OpenBsdBuildException>(() => Signify.VerifyEmbedded(other.PublicKey, signer.SignEmbedded(Checksums), "SHA256.sig"));
            Assert.Equal("SignifyKeyMismatch", ex.ErrorId);
            Assert.Equal(FailureKind.SecurityError, ex.Kind);
            Assert.Contains(signer.PublicKey.KeyNumberHex, ex.Message);
        }

        [Fact]
        public void DetachedSignature_Verifies()
        {
            var keys = new SignifyTestKeys();
            var data = Encoding.UTF8.GetBytes(Checksums);
            var signature = SignifySignature.Parse(keys.SignDetached(data), "SHA256.sig");
            Assert.Empty(signature.EmbeddedMessage);
            Signify.Verify(keys.PublicKey, signature, data, "SHA256");
        }

        [Theory]
        [InlineData("comment without header\nRWQ=\n")]
        [InlineData("untrusted comment: x\nnot base64!!\n")]
        [InlineData("untrusted comment: x\nRWQAAAAAAAAAAA==\n")]
        [InlineData("untrusted comment: x")]
        public void MalformedSignature_IsASecurityError(string text)
        {
            var ex = Assert.Throws<OpenBsdBuildException>(() => SignifySignature.Parse(Encoding.UTF8.GetBytes(text), "SHA256.sig"));
            Assert.Equal("SignifySignatureInvalid", ex.ErrorId);
            Assert.Equal(FailureKind.SecurityError, ex.Kind);
        }

        [Fact]
        public void MalformedPublicKey_IsInvalidData()
        {
            var ex = Assert.Throws<OpenBsdBuildException>(() => SignifyPublicKey.Parse("untrusted comment: k\nRWQAAAA=\n", "k.pub"));
            Assert.Equal("SignifyPublicKeyInvalid", ex.ErrorId);
            Assert.Equal(FailureKind.InvalidData, ex.Kind);
        }

        // ------------------------------------------------------------ the real signify (apt: signify-openbsd)

        private static string? FindSignify()
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
                foreach (var name in new[] { "signify-openbsd", "signify" })
                    if (File.Exists(Path.Combine(dir, name))) return Path.Combine(dir, name);
            return null;
        }

        private static (int Code, string Output) Run(string tool, string arguments)
        {
            var start = new ProcessStartInfo(tool, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }

        [Fact]
        public void RealSignify_FilesVerifyHere_AndOursVerifyThere()
        {
            // Never a silent pass: without the real tool this test fails and says what to install.
            var tool = FindSignify() ?? throw new InvalidOperationException(
                "signify is not installed (Debian/Ubuntu: apt-get install signify-openbsd; bash .ci/run installs it).");
            var dir = Directory.CreateTempSubdirectory("signify-").FullName;
            try
            {
                string P(string name) => Path.Combine(dir, name);
                File.WriteAllText(P("SHA256"), Checksums);
                var gen = Run(tool, $"-G -n -c \"test key\" -p {P("test.pub")} -s {P("test.sec")}");
                Assert.True(gen.Code == 0, gen.Output);
                var sign = Run(tool, $"-S -e -s {P("test.sec")} -m {P("SHA256")} -x {P("SHA256.sig")}");
                Assert.True(sign.Code == 0, sign.Output);

                // Theirs verified by us.
                var key = SignifyPublicKey.Parse(File.ReadAllBytes(P("test.pub")), "test.pub");
                var list = new InstallMediaVerifier(key).VerifyChecksumList(File.ReadAllBytes(P("SHA256.sig")));
                Assert.Equal("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", list.Entries["base76.tgz"]);
                var tampered = File.ReadAllBytes(P("SHA256.sig"));
                tampered[^2] ^= 1;
                Assert.Throws<OpenBsdBuildException>(() => new InstallMediaVerifier(key).VerifyChecksumList(tampered));

                // Ours verified by them.
                var ours = new SignifyTestKeys();
                File.WriteAllText(P("ours.pub"), ours.PublicKey.ToFileText());
                File.WriteAllBytes(P("ours.sig"), ours.SignEmbedded(Checksums));
                var verify = Run(tool, $"-V -e -p {P("ours.pub")} -x {P("ours.sig")} -m {P("ours.out")}");
                Assert.True(verify.Code == 0, verify.Output);
                Assert.Equal(Checksums, File.ReadAllText(P("ours.out")));
                var wrong = Run(tool, $"-V -e -p {P("test.pub")} -x {P("ours.sig")} -m {P("wrong.out")}");
                Assert.NotEqual(0, wrong.Code);
                Assert.Contains("wrong key", wrong.Output);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
