using System.Collections.Generic;
using System.Linq;
using Renci.SshNet;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// What this client offers, in its order of preference: in SSH the client's order decides
    /// (RFC 4253 §7.1), so the first entry the server also has is what every byte pays for.
    /// Only algorithms OpenSSH still enables by default (its myproposal.h); no CBC, 3DES, SHA-1
    /// MACs, SHA-1 key exchange or SHA-1 host signatures. Order and measurements: docs/transfers.md.
    /// </summary>
    internal static class SshAlgorithms
    {
        /// <summary>
        /// chacha20-poly1305 first, as OpenSSH and OpenBSD's sshd order it: a guest's CPU does its half of
        /// the crypto, and without AES instructions (a TCG guest, OpenBSD's LibreSSL) it is by far the cheapest.
        /// </summary>
        internal static readonly string[] Ciphers =
        {
            "chacha20-poly1305@openssh.com",
            "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
            "aes128-ctr", "aes192-ctr", "aes256-ctr",
        };

        /// <summary>Only used with the CTR ciphers (AEAD ciphers carry their own tag). Encrypt-then-MAC first, as OpenSSH orders them.</summary>
        internal static readonly string[] Macs =
        {
            "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com",
            "hmac-sha2-256", "hmac-sha2-512",
        };

        internal static readonly string[] KeyExchanges =
        {
            "mlkem768x25519-sha256", "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
            "curve25519-sha256", "curve25519-sha256@libssh.org",
            "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
            "diffie-hellman-group-exchange-sha256", "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512", "diffie-hellman-group14-sha256",
        };

        /// <summary>Host key signatures: ssh-rsa (SHA-1) and ssh-dss are off in OpenSSH since 8.8.</summary>
        private static readonly HashSet<string> UnsafeHostKeyAlgorithms = new HashSet<string>
        {
            "ssh-rsa", "ssh-dss", "ssh-rsa-cert-v01@openssh.com", "ssh-dss-cert-v01@openssh.com",
        };

        /// <summary>Restricts and orders what <paramref name="info"/> offers.</summary>
        public static void Apply(ConnectionInfo info)
        {
            Order(info.Encryptions, Ciphers);
            Order(info.HmacAlgorithms, Macs);
            Order(info.KeyExchangeAlgorithms, KeyExchanges);
            foreach (string name in info.HostKeyAlgorithms.Keys.Where(UnsafeHostKeyAlgorithms.Contains).ToList())
                info.HostKeyAlgorithms.Remove(name);
            foreach (string name in info.CompressionAlgorithms.Keys.Where(k => k != "none").ToList())
                info.CompressionAlgorithms.Remove(name);
        }

        private static void Order<T>(IOrderedDictionary<string, T> offered, string[] preferred)
        {
            foreach (string name in offered.Keys.Where(k => !preferred.Contains(k)).ToList()) offered.Remove(name);
            int position = 0;
            foreach (string name in preferred)
                if (offered.ContainsKey(name)) offered.SetPosition(name, position++);
        }
    }
}
