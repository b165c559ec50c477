using System.Linq;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using OpenBsdBuild.Images.Media;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>An Ed25519 key pair in signify's shape, generated for a test.</summary>
    internal sealed class SignifyTestKeys
    {
        private readonly Ed25519PrivateKeyParameters _private;

        public SignifyTestKeys(byte[]? keyNumber = null, string name = "openbsd-76-base")
        {
            _private = new Ed25519PrivateKeyParameters(new SecureRandom());
            KeyNumber = keyNumber ?? RandomNumberGenerator.GetBytes(8);
            Name = name;
            PublicKey = SignifyPublicKey.FromParts($"{name} public key", KeyNumber, _private.GeneratePublicKey().GetEncoded());
        }

        public string Name { get; }
        public byte[] KeyNumber { get; }
        public SignifyPublicKey PublicKey { get; }

        public byte[] Sign(byte[] message)
        {
            var signer = new Ed25519Signer();
            signer.Init(true, _private);
            signer.BlockUpdate(message, 0, message.Length);
            return signer.GenerateSignature();
        }

        /// <summary>What "signify -S -e" writes: comment, signature line, then the message.</summary>
        public byte[] SignEmbedded(string message) =>
            SignifySignature.FromParts($"verify with {Name}.pub", KeyNumber, Sign(Encoding.UTF8.GetBytes(message)),
                Encoding.UTF8.GetBytes(message)).ToFileBytes();

        public byte[] SignDetached(byte[] message) =>
            SignifySignature.FromParts($"verify with {Name}.pub", KeyNumber, Sign(message)).ToFileBytes();

        public static string Sha256Hex(byte[] data) => string.Concat(SHA256.HashData(data).Select(b => b.ToString("x2")));
    }
}
