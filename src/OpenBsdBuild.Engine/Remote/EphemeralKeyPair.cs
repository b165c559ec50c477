using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// An ed25519 key generated in this process for one host. The private half is written once,
    /// owner-only, to a private temp directory because the SSH layer loads keys from files; it is
    /// deleted with the host.
    /// </summary>
    public sealed class EphemeralKeyPair : IDisposable
    {
        private EphemeralKeyPair(string publicKeyLine, string privateKeyFile)
        {
            PublicKeyLine = publicKeyLine;
            PrivateKeyFile = privateKeyFile;
        }

        /// <summary>"ssh-ed25519 AAAA… comment", as in an authorized_keys file.</summary>
        public string PublicKeyLine { get; }
        public string PrivateKeyFile { get; }

        /// <summary>What ImportKeyPair wants on the wire: base64 of the public key text (the .NET SDK does not encode it).</summary>
        public string ImportMaterial => Convert.ToBase64String(Encoding.ASCII.GetBytes(PublicKeyLine));

        public static EphemeralKeyPair Generate(string comment)
        {
            var random = new SecureRandom();
            var priv = new Ed25519PrivateKeyParameters(random);
            byte[] seed = priv.GetEncoded();
            byte[] pub = priv.GeneratePublicKey().GetEncoded();

            byte[] publicBlob = Blob(w => { WriteString(w, "ssh-ed25519"); WriteBytes(w, pub); });
            string line = "ssh-ed25519 " + Convert.ToBase64String(publicBlob) + " " + comment;

            // openssh-key-v1, unencrypted (PROTOCOL.key in OpenSSH's sources).
            byte[] check = new byte[4];
            random.NextBytes(check);
            byte[] privateSection = Blob(w =>
            {
                w.Write(check); w.Write(check);
                WriteString(w, "ssh-ed25519");
                WriteBytes(w, pub);
                var both = new byte[64];
                Buffer.BlockCopy(seed, 0, both, 0, 32);
                Buffer.BlockCopy(pub, 0, both, 32, 32);
                WriteBytes(w, both);
                WriteString(w, comment);
                for (byte pad = 1; w.BaseStream.Length % 8 != 0; pad++) w.Write(pad);
            });
            byte[] file = Blob(w =>
            {
                w.Write(Encoding.ASCII.GetBytes("openssh-key-v1\0"));
                WriteString(w, "none");
                WriteString(w, "none");
                WriteString(w, "");
                WriteUInt32(w, 1);
                WriteBytes(w, publicBlob);
                WriteBytes(w, privateSection);
            });
            var pem = new StringBuilder("-----BEGIN OPENSSH PRIVATE KEY-----\n");
            string b64 = Convert.ToBase64String(file);
            for (int i = 0; i < b64.Length; i += 70) pem.Append(b64, i, Math.Min(70, b64.Length - i)).Append('\n');
            pem.Append("-----END OPENSSH PRIVATE KEY-----\n");
            Array.Clear(seed, 0, seed.Length);

            string dir = DirectoryFor(comment);
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "id_ed25519");
            if (Environment.OSVersion.Platform == PlatformID.Unix)
            {
                // Create it owner-only before any secret is in it.
                File.WriteAllText(path, "");
                Chmod600(path);
            }
            File.WriteAllText(path, pem.ToString());
            return new EphemeralKeyPair(line, path);
        }

        /// <summary>
        /// The key's folder is named after the key pair, so a sweep after a killed client
        /// (Get-MetalHost -Orphaned | Remove-MetalHost) can find and delete it on this machine.
        /// </summary>
        private static string DirectoryFor(string keyName)
        {
            var safe = new StringBuilder();
            foreach (char c in keyName) safe.Append(char.IsLetterOrDigit(c) || c == '-' || c == '_' || c == '.' ? c : '_');
            return Path.Combine(Path.GetTempPath(), "openbsdbuild-keys", safe.ToString().Trim('.'));
        }

        /// <summary>Deletes the private key this machine wrote for <paramref name="keyName"/>, if it is still here.</summary>
        public static void DeleteLocal(string keyName)
        {
            try { Directory.Delete(DirectoryFor(keyName), true); }
            catch (DirectoryNotFoundException) { }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        public void Dispose()
        {
            try { Directory.Delete(Path.GetDirectoryName(PrivateKeyFile)!, true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        private static void Chmod600(string path)
        {
            Reporting.OperationTrace.Action("local", "chmod 600 " + Scripts.ShellQuote.Quote(path));
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("chmod", "600 \"" + path + "\"") { UseShellExecute = false });
            p?.WaitForExit();
        }

        private static byte[] Blob(Action<BinaryWriter> write)
        {
            using var ms = new MemoryStream();
            using var w = new BinaryWriter(ms);
            write(w);
            w.Flush();
            return ms.ToArray();
        }

        private static void WriteUInt32(BinaryWriter w, uint v)
        {
            w.Write((byte)(v >> 24)); w.Write((byte)(v >> 16)); w.Write((byte)(v >> 8)); w.Write((byte)v);
        }

        private static void WriteBytes(BinaryWriter w, byte[] b)
        {
            WriteUInt32(w, (uint)b.Length);
            w.Write(b);
        }

        private static void WriteString(BinaryWriter w, string s) => WriteBytes(w, Encoding.ASCII.GetBytes(s));
    }
}
