using System;
using System.Linq;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Builds;

namespace OpenBsdBuild.Images.Media
{
    /// <summary>
    /// The file layout shared by signify(1) keys and signatures (usr.bin/signify/signify.c
    /// parseb64file()): a line "untrusted comment: ...", then one base64 line holding "Ed", an
    /// 8-byte key number and the key or signature bytes. An embedded signature (signify -S -e, the
    /// form of SHA256.sig on the mirrors) is followed directly by the signed message.
    /// </summary>
    internal static class SignifyFile
    {
        public const string CommentHeader = "untrusted comment: ";
        public const int KeyNumberLength = 8;
        private static readonly byte[] Algorithm = { (byte)'E', (byte)'d' };

        /// <summary>Splits a signify file into comment, decoded payload and whatever follows the base64 line.</summary>
        public static (string Comment, byte[] Payload, byte[] Trailer) Read(byte[] file, int payloadLength, string source,
            Func<string, OpenBsdBuildException> invalid)
        {
            var commentEnd = Array.IndexOf(file, (byte)'\n');
            var header = Encoding.ASCII.GetBytes(CommentHeader);
            if (commentEnd <= header.Length || !file.Take(header.Length).SequenceEqual(header))
                throw invalid($"'{source}' does not start with '{CommentHeader}'.");
            var base64End = Array.IndexOf(file, (byte)'\n', commentEnd + 1);
            if (base64End < 0)
                throw invalid($"'{source}' has no newline after its base64 line.");
            var comment = Encoding.UTF8.GetString(file, header.Length, commentEnd - header.Length);
            byte[] payload;
            try
            {
                payload = Convert.FromBase64String(Encoding.ASCII.GetString(file, commentEnd + 1, base64End - commentEnd - 1));
            }
            catch (FormatException)
            {
                throw invalid($"'{source}' has an invalid base64 line.");
            }
            if (payload.Length != payloadLength)
                throw invalid($"'{source}' holds {payload.Length} bytes where signify expects {payloadLength}.");
            if (payload[0] != Algorithm[0] || payload[1] != Algorithm[1])
                throw invalid($"'{source}' is not an Ed25519 signify file.");
            var rest = new byte[file.Length - base64End - 1];
            Array.Copy(file, base64End + 1, rest, 0, rest.Length);
            return (comment, payload, rest);
        }
    }

    /// <summary>A signify Ed25519 public key, e.g. /etc/signify/openbsd-76-base.pub.</summary>
    public sealed class SignifyPublicKey
    {
        private const int PayloadLength = 2 + SignifyFile.KeyNumberLength + 32;

        private SignifyPublicKey(string comment, byte[] keyNumber, byte[] key)
        {
            Comment = comment;
            KeyNumber = keyNumber;
            Key = key;
        }

        public string Comment { get; }
        /// <summary>Random 8 bytes chosen at key generation; signatures carry the number of their key.</summary>
        public byte[] KeyNumber { get; }
        public byte[] Key { get; }
        public string KeyNumberHex => Checksums.Hex(KeyNumber);

        public static SignifyPublicKey Parse(string text, string source) => Parse(Encoding.UTF8.GetBytes(text), source);

        public static SignifyPublicKey Parse(byte[] file, string source)
        {
            var (comment, payload, _) = SignifyFile.Read(file, PayloadLength, source, message =>
                new OpenBsdBuildException("SignifyPublicKeyInvalid", FailureKind.InvalidData,
                    "Not a signify public key: " + message, source,
                    "Use the release's base key, e.g. openbsd-76-base.pub from a trusted OpenBSD system."));
            return new SignifyPublicKey(comment, payload.Skip(2).Take(SignifyFile.KeyNumberLength).ToArray(),
                payload.Skip(2 + SignifyFile.KeyNumberLength).ToArray());
        }

        /// <summary>The file text signify writes for this key.</summary>
        public string ToFileText() =>
            SignifyFile.CommentHeader + Comment + "\n" +
            Convert.ToBase64String(new byte[] { (byte)'E', (byte)'d' }.Concat(KeyNumber).Concat(Key).ToArray()) + "\n";

        /// <summary>Builds a key from its parts (tests and tools that hold raw Ed25519 keys).</summary>
        public static SignifyPublicKey FromParts(string comment, byte[] keyNumber, byte[] key)
        {
            if (keyNumber.Length != SignifyFile.KeyNumberLength || key.Length != 32)
                throw new ArgumentException("A signify key has an 8-byte key number and a 32-byte Ed25519 key.");
            return new SignifyPublicKey(comment, keyNumber.ToArray(), key.ToArray());
        }
    }

    /// <summary>A signify Ed25519 signature, optionally with the embedded message (signify -e).</summary>
    public sealed class SignifySignature
    {
        private const int PayloadLength = 2 + SignifyFile.KeyNumberLength + 64;

        private SignifySignature(string comment, byte[] keyNumber, byte[] signature, byte[] embedded)
        {
            Comment = comment;
            KeyNumber = keyNumber;
            Signature = signature;
            EmbeddedMessage = embedded;
        }

        /// <summary>Usually "verify with openbsd-76-base.pub"; untrusted, as the name says.</summary>
        public string Comment { get; }
        public byte[] KeyNumber { get; }
        public byte[] Signature { get; }
        /// <summary>The signed content after the signature lines; empty for a detached signature.</summary>
        public byte[] EmbeddedMessage { get; }
        public string KeyNumberHex => Checksums.Hex(KeyNumber);

        public static SignifySignature Parse(byte[] file, string source)
        {
            // A malformed signature is treated like a bad one: it may well be tampering.
            var (comment, payload, rest) = SignifyFile.Read(file, PayloadLength, source, message =>
                new OpenBsdBuildException("SignifySignatureInvalid", FailureKind.SecurityError,
                    "Not a signify signature: " + message, source,
                    "Download SHA256.sig again from a trusted OpenBSD mirror."));
            return new SignifySignature(comment, payload.Skip(2).Take(SignifyFile.KeyNumberLength).ToArray(),
                payload.Skip(2 + SignifyFile.KeyNumberLength).ToArray(), rest);
        }

        /// <summary>The file text signify writes: comment, base64 line, then the message if embedded.</summary>
        public byte[] ToFileBytes()
        {
            var head = SignifyFile.CommentHeader + Comment + "\n" +
                       Convert.ToBase64String(new byte[] { (byte)'E', (byte)'d' }.Concat(KeyNumber).Concat(Signature).ToArray()) + "\n";
            return Encoding.UTF8.GetBytes(head).Concat(EmbeddedMessage).ToArray();
        }

        public static SignifySignature FromParts(string comment, byte[] keyNumber, byte[] signature, byte[]? embeddedMessage = null)
        {
            if (keyNumber.Length != SignifyFile.KeyNumberLength || signature.Length != 64)
                throw new ArgumentException("A signify signature has an 8-byte key number and a 64-byte Ed25519 signature.");
            return new SignifySignature(comment, keyNumber.ToArray(), signature.ToArray(), embeddedMessage?.ToArray() ?? new byte[0]);
        }
    }

    /// <summary>signify -V: Ed25519 verification of a message against a public key.</summary>
    public static class Signify
    {
        /// <summary>
        /// Verifies <paramref name="message"/>; throws a SecurityError OpenBsdBuildException when the
        /// signature was made with another key (key numbers differ) or does not verify.
        /// </summary>
        public static void Verify(SignifyPublicKey key, SignifySignature signature, byte[] message, string source)
        {
            // signify verifymsg(): the key number is compared first ("checked against wrong key").
            if (!key.KeyNumber.SequenceEqual(signature.KeyNumber))
                throw new OpenBsdBuildException("SignifyKeyMismatch", FailureKind.SecurityError,
                    $"'{source}' was signed with key {signature.KeyNumberHex}, not with the trusted key {key.KeyNumberHex} ({key.Comment}).",
                    source, "Use the public key of this OpenBSD release, and sets from a mirror of this release.");
            bool valid;
            try
            {
                var verifier = new Ed25519Signer();
                verifier.Init(false, new Ed25519PublicKeyParameters(key.Key, 0));
                verifier.BlockUpdate(message, 0, message.Length);
                valid = verifier.VerifySignature(signature.Signature);
            }
            catch (ArgumentException)
            {
                valid = false; // a key that is not a curve point verifies nothing
            }
            if (!valid)
                throw new OpenBsdBuildException("SignifySignatureBad", FailureKind.SecurityError,
                    $"The signature of '{source}' does not verify with key {key.KeyNumberHex}: the file was modified or signed by someone else.",
                    source, "Do not use these files. Download them again from a trusted OpenBSD mirror.");
        }

        /// <summary>signify -V -e: verifies an embedded signature file and returns the signed message.</summary>
        public static byte[] VerifyEmbedded(SignifyPublicKey key, byte[] signatureFile, string source)
        {
            var signature = SignifySignature.Parse(signatureFile, source);
            Verify(key, signature, signature.EmbeddedMessage, source);
            return signature.EmbeddedMessage;
        }
    }
}
