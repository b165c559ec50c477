using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Model;

/// <summary>
/// Parses ImportKeyPair's PublicKeyMaterial (an OpenSSH public key line) and computes the
/// fingerprint EC2 reports for imported keys: for RSA the colon-separated MD5 of the DER
/// SubjectPublicKeyInfo (the API reference cites RFC 4716, but EC2's user guide verifies
/// imported keys with `openssl … -outform DER | openssl md5 -c`, which is this); for ED25519
/// the base64 SHA-256 of the SSH key blob, as OpenSSH prints it (with padding).
/// </summary>
internal static class KeyMaterial
{
    public sealed record Parsed(string KeyType, string OpenSshLine, string Fingerprint);

    public static Parsed Parse(byte[] material)
    {
        var text = Encoding.UTF8.GetString(material).Trim();
        var parts = text.Split([' ', '\t'], 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2) throw InvalidFormat();

        byte[] blob;
        try { blob = Convert.FromBase64String(parts[1]); }
        catch (FormatException) { throw InvalidFormat(); }

        var reader = new SshReader(blob);
        var blobType = Encoding.ASCII.GetString(reader.ReadString());
        if (blobType != parts[0]) throw InvalidFormat();

        switch (blobType)
        {
            case "ssh-rsa":
            {
                var exponent = TrimLeadingZero(reader.ReadString());
                var modulus = TrimLeadingZero(reader.ReadString());
                if (modulus.Length * 8 < 1024)
                    throw new Ec2Error("InvalidKey.Format", "Key is not in valid OpenSSH public key format");
                using var rsa = RSA.Create();
                rsa.ImportParameters(new RSAParameters { Exponent = exponent, Modulus = modulus });
                var md5 = MD5.HashData(rsa.ExportSubjectPublicKeyInfo());
                return new Parsed("rsa", text, string.Join(":", md5.Select(b => b.ToString("x2"))));
            }
            case "ssh-ed25519":
            {
                if (reader.ReadString().Length != 32) throw InvalidFormat();
                return new Parsed("ed25519", text, Convert.ToBase64String(SHA256.HashData(blob)));
            }
            default:
                throw InvalidFormat();
        }
    }

    private static Ec2Error InvalidFormat() =>
        new("InvalidKey.Format", "Key is not in valid OpenSSH public key format");

    private static byte[] TrimLeadingZero(byte[] mpint) =>
        mpint.Length > 1 && mpint[0] == 0 ? mpint[1..] : mpint;

    /// <summary>Reads RFC 4251 length-prefixed strings.</summary>
    private ref struct SshReader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public byte[] ReadString()
        {
            if (_rest.Length < 4) throw InvalidFormat();
            var length = BinaryPrimitives.ReadUInt32BigEndian(_rest);
            if (length > _rest.Length - 4) throw InvalidFormat();
            var value = _rest.Slice(4, (int)length).ToArray();
            _rest = _rest[(4 + (int)length)..];
            return value;
        }
    }
}
