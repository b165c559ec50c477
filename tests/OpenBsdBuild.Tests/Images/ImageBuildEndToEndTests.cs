using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using Xunit;
using OpenBsdBuild.Images.Media;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>
    /// New-OpenBsdImage from start to end with a real QEMU, on this machine and on a host reached over
    /// SSH. The install media is the test fixture's pretend installer (tests/fixtures/guest-image): it
    /// asks install.sub's questions on the serial console, fetches the response file from 10.0.2.2,
    /// answers from it as autoinstall does (stopping on a question it has no answer for), writes the
    /// system with a freshly generated host key, and powers off; the installed system has a login
    /// prompt on the console and OpenBSD's commands for the first boot. The image that comes out must
    /// boot with Start-OpenBsdGuest, pinned to the fingerprints read on the console, and run a build
    /// as the build user.
    /// </summary>
    public sealed class ImageBuildEndToEndTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-image-e2e-").FullName;
        private readonly PsSession _ps = new PsSession();
        private readonly SignifyTestKeys _keys = new SignifyTestKeys(name: "openbsd-78-base");
        private NetnsSshHost? _remote;
        private readonly TestMirror _mirror = new TestMirror();

        public void Dispose()
        {
            _ps.Run("if ($host_) { $host_ | Remove-MetalHost -Confirm:$false }");
            _ps.Dispose();
            _remote?.Dispose();
            _mirror.Dispose();
            foreach (var pid in Tools.QemuProcesses(_dir)) Tools.Sh($"kill -9 {pid} || true");
            Directory.Delete(_dir, recursive: true);
        }

        private string State => Path.Combine(_dir, "state");
        private string Output => Path.Combine(_dir, "out", "openbsd-7.8-arm64.qcow2");

        /// <summary>The fixture's installer as install78.img, with a SHA256.sig signed by the test release key.</summary>
        private (string Media, string PublicKey) Media()
        {
            string dir = Path.Combine(_dir, "media");
            Directory.CreateDirectory(dir);
            string media = Path.Combine(dir, "install78.img");
            File.CreateSymbolicLink(media, TestGuestImage.Get().InstallMedia);
            var list = new System.Text.StringBuilder();
            foreach (string set in new[] { "bsd", "bsd.mp", "bsd.rd", "base78.tgz", "comp78.tgz", "man78.tgz", "game78.tgz", "xbase78.tgz", "xshare78.tgz", "xfont78.tgz", "xserv78.tgz" })
                list.Append($"SHA256 ({set}) = {SignifyTestKeys.Sha256Hex(System.Text.Encoding.UTF8.GetBytes(set))}\n");
            list.Append($"SHA256 (install78.img) = {OpenBsdBuild.Builds.Checksums.Sha256File(media)}\n");
            File.WriteAllBytes(Path.Combine(dir, "SHA256.sig"), _keys.SignEmbedded(list.ToString()));
            string key = Path.Combine(_dir, "openbsd-78-base.pub");
            File.WriteAllText(key, _keys.PublicKey.ToFileText());
            return (media, key);
        }

        /// <summary>A local package folder: files only, as pkg_add finds them in the served HTML index.</summary>
        private string Packages(params string[] files)
        {
            string dir = Path.Combine(_dir, "packages");
            Directory.CreateDirectory(dir);
            foreach (string file in files) File.WriteAllText(Path.Combine(dir, file), "pretend package " + file);
            return dir;
        }

        private string BuildUserKey()
        {
            string key = Path.Combine(_dir, "builder_ed25519");
            Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -C builder@test -f '{key}'");
            return key;
        }

        private string Connect(bool overSsh)
        {
            if (!overSsh) return $"Connect-MetalHost -Local -StateDirectory '{State}'";
            _remote = new NetnsSshHost(logCommands: true);
            return $"Connect-MetalHost -HostName {_remote.Address} -User root -KeyFile '{_remote.KeyFile}' -HostKeyFingerprint {_remote.HostKeyFingerprint} -StateDirectory '{State}'";
        }

        /// <summary>The media as the host reaches it: a file here (copied to a remote host), or a mirror a remote host fetches from itself.</summary>
        [Theory]
        [InlineData(false, false)]
        [InlineData(true, false)]
        [InlineData(true, true)]
        public void An_image_is_installed_unattended_configured_and_boots_pinned_to_the_key_read_on_its_console(bool overSsh, bool fromMirror)
        {
            var (media, signifyKey) = Media();
            string connect = Connect(overSsh);
            string source = $"-InstallMedia '{media}'";
            if (fromMirror)
            {
                _mirror.Add("7.8/arm64/install78.img", File.ReadAllBytes(media));
                _mirror.Add("7.8/arm64/SHA256.sig", File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(media)!, "SHA256.sig")));
                // The namespace host reaches this machine at the outer end of its link.
                source = $"-Mirror http://{_remote!.OuterAddress}:{_mirror.Root.Port}/pub/OpenBSD/";
            }
            string packages = Packages("git-2.46.0.tgz", "rust-1.86.0.tgz", "rust-1.85.1.tgz");
            string buildKey = BuildUserKey();

            var made = _ps.Run($"$host_ = {connect} -Verbose; " +
                               $"$host_ | New-OpenBsdImage 7.8 {source} -SignifyPublicKey '{signifyKey}' -Package git, rust -PackagePath '{packages}' " +
                               $"-BuildUserKey '{buildKey}.pub' -BuildUser builder -Output '{Output}' -Memory 512MB -CpuCount 1 -Verbose");
            Assert.False(made.HadErrors, made.Describe());
            var image = made.Single<OpenBsdImage>();

            // The metadata: what was really installed, and the key the console showed (generated during the install).
            Assert.Equal(new[] { "bsd", "bsd.rd", "base78.tgz", "comp78.tgz", "man78.tgz" }, image.Sets);
            Assert.Equal(new[] { "git-2.46.0", "rust-1.86.0" }, image.Packages.OrderBy(p => p, StringComparer.Ordinal));
            Assert.Equal("builder", image.BuildUser);
            var fingerprint = Assert.Single(image.HostKeyFingerprints);
            Assert.NotEqual(TestGuestImage.Get().HostKeyFingerprint, fingerprint);
            Assert.Equal(image.Sha256, OpenBsdBuild.Builds.Checksums.Sha256File(Output));
            Assert.DoesNotContain("backing file", Tools.Sh($"qemu-img info '{Output}'"));
            // The install password never shows, even in -Verbose.
            Assert.Contains(made.Verbose, v => v.Message.Contains("Guest host keys (read on the serial console)"));
            if (overSsh)
            {
                // Every command, transfer and forward on the host shows with -Verbose: the media went up, the image came back.
                if (!fromMirror) Assert.Contains(made.Verbose, v => v.Message.Contains(": sftp put " + media + " -> "));
                else Assert.Contains(_remote!.ExecutedCommands(), c => c.Contains("curl -fsS"));
                Assert.Contains(made.Verbose, v => v.Message.Contains("install78.img on ") && v.Message.Contains("SHA-256 matches the verified list"));
                Assert.NotEmpty(_remote!.ReverseForwards());
                TraceAssert.EverythingShows(_remote, $"root@{_remote.Address}:22", made.Verbose.Select(v => v.Message));
            }

            // Nothing of the build is left: no QEMU, no build folder on the host.
            Assert.Empty(Tools.QemuProcesses(_dir));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(State, "image-builds")));

            // The image boots on this machine with the key pinned from its metadata, and builds as its build user:
            // with no data-size cap from its login class (the fixture applies login.conf at login as OpenBSD does;
            // OpenBSD's own "build" class stops at 1843M), and by default on /usr/obj, whose root the install
            // leaves to root, with the cmdlet's default -MinFreeSpace of 4 GB (the tests' sessions lower the default;
            // the disklabel's /home has about 2.9 GB, so a build that fell back there would be refused).
            var booted = _ps.Run($"$local = Connect-MetalHost -Local -StateDirectory '{Path.Combine(_dir, "boot-state")}'; " +
                                 $"$guest = $local | Start-OpenBsdGuest -Image '{Output}' -KeyFile '{buildKey}' -Memory 512MB -CpuCount 1; " +
                                 "$guest | Invoke-GuestBuild -Command 'echo user=$(id -un) datasize=$(ulimit -d)/$(ulimit -H -d)' -MinFreeSpace 1MB; " +
                                 "$guest | Invoke-GuestBuild -Command 'echo pwd=$(pwd)' -MinFreeSpace 4GB; " +
                                 "$guest | Stop-OpenBsdGuest -Confirm:$false; $local | Remove-MetalHost -Confirm:$false");
            Assert.False(booted.HadErrors, booted.Describe());
            var lines = booted.Information.Select(i => i.MessageData.ToString()).ToList();
            Assert.Contains("user=builder datasize=unlimited/unlimited", lines);
            Assert.Contains(lines, l => l != null && l.StartsWith("pwd=/usr/obj/openbsdbuild/", StringComparison.Ordinal));
            Assert.DoesNotContain(booted.Warnings, w => w.Message.Contains("home filesystem"));
            Assert.Empty(Tools.QemuProcesses(_dir));
        }

        [Fact]
        public void A_package_the_folder_lacks_fails_the_first_boot_clearly_and_leaves_nothing()
        {
            var (media, signifyKey) = Media();
            string packages = Packages("git-2.46.0.tgz");
            string buildKey = BuildUserKey();

            var failed = _ps.Run($"$host_ = {Connect(false)}; " +
                                 $"$host_ | New-OpenBsdImage 7.8 -InstallMedia '{media}' -SignifyPublicKey '{signifyKey}' -Package git, rust -PackagePath '{packages}' " +
                                 $"-BuildUserKey '{buildKey}.pub' -Output '{Output}' -Memory 512MB -CpuCount 1");
            var e = failed.FirstError;
            Assert.True(e != null, failed.Describe());
            Assert.StartsWith("OpenBsdBuild.FirstBootFailed,", e!.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidResult, e.CategoryInfo.Category);
            Assert.Contains("rust", e.Exception.Message);
            // pkg_add's own words reach the user, tagged with the step.
            Assert.Contains(failed.Information, i => i.Tags.Contains("firstboot") && i.MessageData.ToString()!.Contains("rust"));

            Assert.Empty(failed.Output);
            Assert.False(File.Exists(Output));
            Assert.False(File.Exists(Output + ".partial"));
            Assert.Empty(Tools.QemuProcesses(_dir));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(State, "image-builds")));
        }
    }
}
