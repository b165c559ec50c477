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

        /// <summary>
        /// For a Linux host, AES-CTR with an encrypt-then-MAC SHA-2 HMAC first: its sshd has AES instructions, and this
        /// side decrypts every byte that goes to or from a guest twice (the jump's session carries the guest's). In the
        /// SSH.NET build the module ships (netstandard2.0), CTR and HMAC run on .NET's own AES and SHA-256, while GCM and
        /// ChaCha20-Poly1305 are BouncyCastle's managed code: 0.31 against 0.73 and 1.03 CPU seconds per 100 MB here
        /// (bench/client-ciphers; docs/transfers.md, "Algorithms").
        /// </summary>
        internal static readonly string[] HostCiphers =
        {
            "aes128-ctr", "aes192-ctr", "aes256-ctr",
            "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
            "chacha20-poly1305@openssh.com",
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

        /// <summary>Restricts and orders what <paramref name="info"/> offers to a far end of the given kind.</summary>
        public static void Apply(ConnectionInfo info, SshFarEnd farEnd = SshFarEnd.BuildMachine)
        {
            Order(info.Encryptions, farEnd == SshFarEnd.LinuxHost ? HostCiphers : Ciphers);
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
