using System;
using System.IO;
using System.Text;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Utilities;
using Org.BouncyCastle.Utilities.IO.Pem;
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
            var priv = new Ed25519PrivateKeyParameters(new SecureRandom());
            byte[] publicBlob = OpenSshPublicKeyUtilities.EncodePublicKey(priv.GeneratePublicKey());
            string line = "ssh-ed25519 " + Convert.ToBase64String(publicBlob) + " " + comment;

            // openssh-key-v1, unencrypted (PROTOCOL.key in OpenSSH's sources), in PEM armour as ssh-keygen writes it.
            var pem = new StringWriter();
            var writer = new PemWriter(pem);
            writer.WriteObject(new PemObject("OPENSSH PRIVATE KEY", OpenSshPrivateKeyUtilities.EncodePrivateKey(priv)));
            writer.Writer.Flush();

            string dir = DirectoryFor(comment);
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "id_ed25519");
            if (Environment.OSVersion.Platform == PlatformID.Unix)
            {
                // Create it owner-only before any secret is in it.
                File.WriteAllText(path, "");
                Chmod600(path);
            }
            File.WriteAllText(path, pem.ToString().Replace("\r\n", "\n"));
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
    }
}
