using System;
using System.IO;
using System.Linq;
using Xunit;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.EndToEnd
{
    /// <summary>
    /// -Verbose shows every external action. Real pipelines run against sshds that record what they
    /// were made to do (commands, SFTP opens, port forwards); everything recorded must have been
    /// announced, as "&lt;where&gt;: &lt;what&gt;", and nothing announced as a command may be missing there.
    /// </summary>
    public sealed class VerboseTraceTests : IDisposable
    {
        private readonly string _work = Directory.CreateTempSubdirectory("obb-trace-").FullName;

        [Fact]
        public void Every_command_and_forward_on_an_ssh_host_shows_with_Verbose_through_a_guest_s_whole_life()
        {
            using var host = new NetnsSshHost(logCommands: true);
            var image = TestGuestImage.Get();
            string src = Sources();
            using var ps = new PsSession();
            var r = ps.Run(
                $"$h = {host.ConnectCommand} -Verbose\n" +
                $"$h | Start-OpenBsdGuest -Name traced -Image '{image.Path}' -KeyFile '{image.KeyFile}' -Memory 512MB -CpuCount 1 -Verbose | " +
                $"Invoke-GuestBuild -Path '{src}' -Command 'sh build.sh' -Artifact out/result.txt -Destination '{_work}/dest' -Verbose\n" +
                "$h | Get-OpenBsdGuest -Verbose | Stop-OpenBsdGuest -GracePeriod 00:00:20 -Verbose\n" +
                "$h | Remove-MetalHost -Verbose");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Equal("built\n", File.ReadAllText(Path.Combine(_work, "dest", "result.txt")));

            var verbose = r.Verbose.Select(v => v.Message).ToList();
            string where = $"root@{host.Address}:22";
            var commands = host.ExecutedCommands();
            // The life of a guest, as the host saw it: probe, image inspection, QEMU, liveness polls, records, power-down.
            Assert.Contains(commands, c => c.Contains("qemu-img") && c.Contains(" info "));
            Assert.Contains(commands, c => c.Contains("qemu-system-aarch64"));
            Assert.Contains(commands, c => c.Contains("system_powerdown"));
            Assert.True(commands.Count(c => c.Contains("&& echo alive")) >= 1);
            TraceAssert.EverythingShows(host, where, verbose);
            Assert.NotEmpty(host.ForwardTargets()); // the readiness probe and the guest's session go through forwards

            // Polls run many times but show once, and the guest's own commands show under its name.
            Assert.Single(verbose, v => v.StartsWith(where + ": ") && v.Contains("&& echo alive") && v.EndsWith("# polled, shown once"));
            Assert.Contains(verbose, v => v.StartsWith("build@traced: ") && v.Contains("tar xzf -  # stdin: data"));
            Assert.Contains(verbose, v => v.StartsWith("build@traced: get ") && v.EndsWith(Path.Combine(_work, "dest", "result.txt.partial")));
            Assert.Contains($"{where}: SSH connection (host key {host.HostKeyFingerprint})", verbose);
            Assert.Contains(verbose, v => v.StartsWith("build@traced: SSH connection to 127.0.0.1:") && v.Contains("as seen from " + where));
        }

        [Fact]
        public void Every_command_and_transfer_of_a_build_shows_with_Verbose_and_a_secret_in_none()
        {
            const string secret = "tr4ce-s3cret-Value";
            using var target = new SshBuildTarget(logCommands: true);
            string src = Sources();
            using var ps = new PsSession();
            ps.Set("guest", target.Guest);
            target.Namespace.ClearLogs(); // the fixture's own connection and probe were not this pipeline's
            var r = ps.Run(
                $"$s = [System.Net.NetworkCredential]::new('', '{secret}').SecurePassword\n" +
                $"$guest | Invoke-GuestBuild -Path '{src}' -Secret @{{ TOKEN = $s }} -Environment @{{ GREETING = 'hi' }} " +
                "-Command 'sh build.sh && printf %s \"$TOKEN\" | sha256sum > out/token.sha256' " +
                $"-Artifact out -Destination '{_work}/dest' -Verbose");
            Assert.False(r.HadErrors, r.Describe());
            // The secret arrived (its hash came back), yet no command line carried it and no verbose line shows it.
            Assert.StartsWith(OpenBsdBuild.Builds.Checksums.Hex(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret))),
                File.ReadAllText(Path.Combine(_work, "dest", "out", "token.sha256")));
            Assert.DoesNotContain(target.Namespace.ExecutedCommands(), c => c.Contains(secret));
            Assert.DoesNotContain(r.Verbose, v => v.Message.Contains(secret));

            var verbose = r.Verbose.Select(v => v.Message).ToList();
            string where = $"root@{target.Namespace.Address}:22";
            Assert.Contains(target.Namespace.ExecutedCommands(), c => c.Contains("OBB_SECRET_NAMES=TOKEN\n")); // run-build.sh reads it from stdin
            // out/result.txt and out/token.sha256 come home in one command on the build's session (listing, bytes and the
            // guest's hashes), not over SFTP.
            string fetch = Assert.Single(target.Namespace.ExecutedCommands(), c => c.Contains("xargs -0 cat --"));
            Assert.Contains("OBB_PATTERNS=", fetch);
            Assert.DoesNotContain(target.Namespace.ExecutedCommands(), c => c != fetch && c.Contains("OBB_PATTERNS="));
            Assert.Empty(target.Namespace.SftpOpened());
            TraceAssert.EverythingShows(target.Namespace, where, verbose);
        }

        private string Sources()
        {
            string src = Path.Combine(_work, "src");
            Directory.CreateDirectory(src);
            File.WriteAllText(Path.Combine(src, "build.sh"), "set -e\nmkdir -p out\necho \"$GREETING from $(uname -m)\"\necho built > out/result.txt\n");
            return src;
        }

        public void Dispose() => Directory.Delete(_work, true);
    }
}
