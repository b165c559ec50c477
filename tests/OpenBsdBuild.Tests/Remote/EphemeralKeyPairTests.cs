using System.IO;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using Renci.SshNet;
using Xunit;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>The per-host key (BouncyCastle's openssh-key-v1 encoding) as OpenSSH's own tools and SSH.NET read it.</summary>
    public sealed class EphemeralKeyPairTests
    {
        [Fact]
        public void The_private_key_file_is_owner_only_and_ssh_keygen_derives_the_same_public_key()
        {
            Tools.Require("ssh-keygen");
            using var key = EphemeralKeyPair.Generate("obb-test-key");
            Assert.Equal("-----BEGIN OPENSSH PRIVATE KEY-----", File.ReadAllLines(key.PrivateKeyFile)[0]);
            Assert.Equal("600", Tools.Sh($"stat -c %a '{key.PrivateKeyFile}'").Trim());
            string derived = Tools.Sh($"ssh-keygen -y -f '{key.PrivateKeyFile}'").Trim();
            string[] line = key.PublicKeyLine.Split(' ');
            Assert.Equal("obb-test-key", line[2]);
            Assert.StartsWith(line[0] + " " + line[1], derived);
            using var loaded = new PrivateKeyFile(key.PrivateKeyFile); // what SshShell logs in with
            string dir = Path.GetDirectoryName(key.PrivateKeyFile)!;
            key.Dispose();
            Assert.False(Directory.Exists(dir));
        }
    }
}
