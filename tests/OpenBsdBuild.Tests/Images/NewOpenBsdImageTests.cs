using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Hosts;
using OpenBsdBuild.Images.Installer;
using OpenBsdBuild.Images.Media;
using OpenBsdBuild.Images;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>
    /// New-OpenBsdImage through the parts that run here: its input checks and media verification
    /// (signify keys made in the test, a real HTTP mirror), which must stop before anything boots,
    /// and the finish phase on the test guest image, whose result must boot with its host key pinned.
    /// The OpenBSD install itself needs real media: see docs/golden-images.md.
    /// </summary>
    public sealed class NewOpenBsdImageTests : IDisposable
    {
        private const string BuildKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl build@test";
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-newimage-").FullName;
        private readonly string _state;
        private readonly PsSession _ps = new PsSession();
        private readonly SignifyTestKeys _keys = new SignifyTestKeys(name: "openbsd-78-base");
        private readonly TestMirror _mirror = new TestMirror();

        public NewOpenBsdImageTests()
        {
            _state = Path.Combine(_dir, "state");
            var r = _ps.Run($"$local = Connect-MetalHost -Local -StateDirectory '{_state}'");
            Assert.False(r.HadErrors, r.Describe());
        }

        public void Dispose()
        {
            _ps.Run("$local | Remove-MetalHost");
            _ps.Dispose();
            _mirror.Dispose();
            Directory.Delete(_dir, recursive: true);
        }

        private string Output => Path.Combine(_dir, "out", "openbsd-7.8-arm64.qcow2");

        /// <summary>A pretend install78.img with a SHA256.sig beside it, signed by <paramref name="signer"/>.</summary>
        private (string Media, string KeyFile) Media(SignifyTestKeys? signer = null, string folder = "media")
        {
            string dir = Path.Combine(_dir, folder);
            Directory.CreateDirectory(dir);
            string media = Path.Combine(dir, "install78.img");
            File.WriteAllBytes(media, Encoding.UTF8.GetBytes("pretend install media " + Guid.NewGuid()));
            var list = $"SHA256 (base78.tgz) = {new string('1', 64)}\nSHA256 (bsd) = {new string('2', 64)}\n" +
                       $"SHA256 (install78.img) = {SignifyTestKeys.Sha256Hex(File.ReadAllBytes(media))}\n";
            File.WriteAllBytes(Path.Combine(dir, "SHA256.sig"), (signer ?? _keys).SignEmbedded(list));
            string key = Path.Combine(_dir, "openbsd-78-base.pub");
            File.WriteAllText(key, _keys.PublicKey.ToFileText());
            return (media, key);
        }

        private PsResult New(string args) =>
            _ps.Run($"$local | New-OpenBsdImage -Version 7.8 -BuildUserKey '{BuildKey}' -Output '{Output}' {args}");

        /// <summary>The error, and proof that nothing was booted or written.</summary>
        private ErrorRecord StopsBeforeBooting(PsResult r, string id, ErrorCategory category)
        {
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith($"OpenBsdBuild.{id},", e!.FullyQualifiedErrorId);
            Assert.Equal(category, e.CategoryInfo.Category);
            Assert.False(string.IsNullOrEmpty(e.ErrorDetails?.RecommendedAction));
            Assert.Empty(r.Output);
            Assert.Empty(Tools.QemuProcesses(_state));
            Assert.False(File.Exists(Output));
            string builds = Path.Combine(_state, "image-builds");
            Assert.True(!Directory.Exists(builds) || Directory.GetFileSystemEntries(builds).Length == 0, "work files left behind");
            return e;
        }

        [Fact]
        public void Bad_input_is_refused_before_anything_starts()
        {
            var (media, key) = Media();
            StopsBeforeBooting(_ps.Run($"$local | New-OpenBsdImage -Version 5.9 -InstallMedia '{media}' -BuildUserKey '{BuildKey}' -Output '{Output}'"),
                "InvalidParameter.Version", ErrorCategory.InvalidArgument);
            StopsBeforeBooting(New($"-InstallMedia '{media}' -Architecture arm64 -DiskSize 8GB"), "InvalidParameter.DiskSize", ErrorCategory.InvalidArgument);
            StopsBeforeBooting(New($"-InstallMedia '{Path.Combine(_dir, "media", "miniroot78.img")}'"), "InvalidParameter.InstallMedia", ErrorCategory.InvalidArgument);
            StopsBeforeBooting(_ps.Run($"$local | New-OpenBsdImage -Version 7.8 -InstallMedia '{media}' -UserKey '{Path.Combine(_dir, "nope.pub")}' -Output '{Output}'"),
                "InvalidParameter.UserKey", ErrorCategory.InvalidArgument);

            // The package path is checked before the media is even read.
            var packages = StopsBeforeBooting(New($"-InstallMedia '{media}' -SignifyPublicKey '{key}' -Package rust -PackagePath {_mirror.ExternalRoot}7.8/packages/aarch64/"),
                "PackagePathUnreachable", ErrorCategory.ConnectionError);
            Assert.Contains("answered 404", packages.Exception.Message);
            // The guest's 127.0.0.1 is itself: a package server on this machine's loopback would never answer it.
            var loopback = StopsBeforeBooting(New($"-InstallMedia '{media}' -Package rust -PackagePath {_mirror.Root}7.8/packages/aarch64/"),
                "InvalidParameter.PackagePath", ErrorCategory.InvalidArgument);
            Assert.Contains("-PackagePath ./packages", loopback.ErrorDetails.RecommendedAction);
            StopsBeforeBooting(New($"-InstallMedia '{media}' -Package rust -PackagePath '{Path.Combine(_dir, "no-such-packages")}'"),
                "InvalidParameter.PackagePath", ErrorCategory.InvalidArgument);

            // Known once the release list is verified, still before anything boots: the installer would stop without base.
            var noBase = StopsBeforeBooting(New($"-InstallMedia '{media}' -SignifyPublicKey '{key}' -Sets '-base*'"), "InvalidParameter.Sets", ErrorCategory.InvalidArgument);
            Assert.Contains("would not install base78.tgz", noBase.Exception.Message);

            // installNN.img has no SHA256.sig of its own, so the installer cannot check the sets: media whose
            // signature the module could not check either (no key here) is not booted.
            var unsigned = StopsBeforeBooting(New($"-InstallMedia '{media}'"), "InstallMediaSignatureUnchecked", ErrorCategory.SecurityError);
            Assert.Contains("-SignifyPublicKey", unsigned.ErrorDetails.RecommendedAction);

            File.Delete(Path.Combine(_dir, "media", "SHA256.sig"));
            StopsBeforeBooting(New($"-InstallMedia '{media}'"), "InstallMediaChecksumMissing", ErrorCategory.SecurityError);
        }

        [Fact]
        public void Media_that_fails_verification_stops_everything_before_anything_boots()
        {
            var (media, key) = Media();
            File.AppendAllText(media, "tampered");
            var tampered = StopsBeforeBooting(New($"-InstallMedia '{media}' -SignifyPublicKey '{key}'"), "ChecksumMismatch", ErrorCategory.SecurityError);
            Assert.Contains("install78.img", tampered.Exception.Message);

            var (signedByOther, _) = Media(new SignifyTestKeys(name: "openbsd-78-base"), "other");
            StopsBeforeBooting(New($"-InstallMedia '{signedByOther}' -SignifyPublicKey '{key}'"), "SignifyKeyMismatch", ErrorCategory.SecurityError);

            // The same key number with another key: only the Ed25519 check can tell.
            var (forged, _) = Media(new SignifyTestKeys(_keys.KeyNumber, "openbsd-78-base"), "forged");
            StopsBeforeBooting(New($"-InstallMedia '{forged}' -SignifyPublicKey '{key}'"), "SignifySignatureBad", ErrorCategory.SecurityError);

            var notThere = StopsBeforeBooting(New($"-Mirror {_mirror.Root}"), "InstallMediaNotOnMirror", ErrorCategory.ObjectNotFound);
            Assert.Contains("7.8/arm64/SHA256.sig", notThere.Exception.Message);
        }

        [Fact]
        public async Task Media_from_a_mirror_is_downloaded_and_verified_with_the_release_key_or_with_a_warning_without_one()
        {
            var (media, key) = Media();
            _mirror.Add("7.8/arm64/install78.img", File.ReadAllBytes(media));
            _mirror.Add("7.8/arm64/SHA256.sig", File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(media)!, "SHA256.sig")));
            var request = new ImageBuildRequest { Version = "7.8", Mirror = _mirror.Root, SignifyPublicKey = key, BuildUserKey = BuildKey, Output = Output };
            var reporter = new Cloud.RecordingReporter();

            string downloads = Path.Combine(_dir, "downloads");
            var verified = await InstallMediaSource.PrepareAsync(request, downloads, true, reporter, CancellationToken.None);
            Assert.True(verified.SignatureChecked);
            Assert.Equal(File.ReadAllBytes(media), File.ReadAllBytes(verified.Path!));
            Assert.Equal(SignifyTestKeys.Sha256Hex(File.ReadAllBytes(media)), verified.Sha256);
            Assert.Empty(Directory.GetFiles(downloads, "*.partial"));
            Assert.Contains(reporter.VerboseMessages, m => m.Contains("signify signature verified"));

            // For a remote host only SHA256.sig comes here; the host fetches the media and checks it against this.
            string listOnly = Path.Combine(_dir, "list-only");
            var forHost = await InstallMediaSource.PrepareAsync(request, listOnly, false, reporter, CancellationToken.None);
            Assert.Null(forHost.Path);
            Assert.Equal(new Uri(_mirror.Root, "7.8/arm64/install78.img"), forHost.Url);
            Assert.Equal(verified.Sha256, forHost.Sha256);
            Assert.Equal(new[] { "SHA256.sig" }, Directory.GetFiles(listOnly).Select(Path.GetFileName));

            request.SignifyPublicKey = null;
            var unsigned = await InstallMediaSource.PrepareAsync(request, downloads, true, reporter, CancellationToken.None);
            Assert.False(unsigned.SignatureChecked);
            Assert.Contains(reporter.Warnings, w => w.Contains("was not checked") && w.Contains("-SignifyPublicKey"));
        }

        [Fact]
        public async Task The_finish_phase_compresses_hashes_and_writes_metadata_that_pins_the_guest_it_boots()
        {
            var guest = TestGuestImage.Get();
            var host = await HostConnector.ConnectLocalAsync(_state, new Cloud.RecordingReporter(), CancellationToken.None);
            var metadata = new ImageMetadata
            {
                Version = "7.8",
                Architecture = "arm64",
                Sets = { "-x* -game*" },
                Packages = { new PackageVersion { Name = "rust", Version = "1.86.0" } },
                BuildUser = "build",
                HostKeyFingerprints = { guest.HostKeyFingerprint },
                DiskSize = 32L << 30,
            };
            var reporter = new Cloud.RecordingReporter();

            var image = await ImageFinisher.FinishAsync(host, guest.Path, Output, metadata, reporter, CancellationToken.None);

            Assert.Equal(Output, image.Location);
            Assert.Equal("Local", image.Store);
            Assert.Equal(new FileInfo(Output).Length, image.Size);
            Assert.Equal(TestImages.Sha256Of(Output), image.Sha256);
            Assert.Equal("openbsd-7.8-arm64", image.Name);
            Assert.True(image.Created > DateTime.UtcNow.AddMinutes(-5));
            Assert.False(File.Exists(Output + ".partial"));
            // Compressed, and the same disk as far as a guest can tell.
            Assert.True(new FileInfo(Output).Length < new FileInfo(guest.Path).Length, "the image should be compressed");
            Assert.Equal("Images are identical.", Tools.Sh($"qemu-img compare '{guest.Path}' '{Output}'").Trim());
            var sidecar = ImageMetadata.Parse(File.ReadAllText(Output + ".json"), "sidecar");
            Assert.Equal(image.Sha256, sidecar.Sha256);
            Assert.Equal(new[] { guest.HostKeyFingerprint }, sidecar.HostKeyFingerprints);

            // Get-OpenBsdImage sees it; a guest from it is pinned by the new metadata alone.
            var listed = _ps.Run($"Get-OpenBsdImage '{Path.GetDirectoryName(Output)}'");
            Assert.Equal(image.Sha256, listed.Single<OpenBsdImage>().Sha256);
            var started = _ps.Run($"$img = Get-OpenBsdImage '{Output}'; $g = $local | Start-OpenBsdGuest -Image $img -KeyFile '{guest.KeyFile}' -Memory 512MB -CpuCount 1; $g; $g | Stop-OpenBsdGuest -GracePeriod 00:00:05");
            Assert.False(started.HadErrors, started.Describe());
            Assert.Equal(guest.HostKeyFingerprint, started.Single<OpenBsdGuest>().HostKeyFingerprint);
        }

        [Fact]
        public async Task The_response_server_answers_the_installer_on_loopback_and_ignores_the_path_query()
        {
            var reporter = new Cloud.RecordingReporter();
            using var server = ResponseServer.Start(reporter);
            server.Add("install.conf", "System hostname = obsd\n");
            Assert.StartsWith("http://10.0.2.2:", server.Url("install.conf"));
            using var http = new HttpClient();
            // What the guest's 10.0.2.2 reaches (docs/openbsd-notes.md), with the query autoinstall may add.
            string body = await http.GetStringAsync($"http://127.0.0.1:{server.Port}/install.conf?path=7.8/arm64");
            Assert.Equal("System hostname = obsd\n", body);
            Assert.True(server.Served("install.conf"));
            var missing = await http.GetAsync($"http://127.0.0.1:{server.Port}/other.conf");
            Assert.Equal(System.Net.HttpStatusCode.NotFound, missing.StatusCode);
        }

        [Fact]
        public async Task A_local_package_folder_is_served_with_an_html_index_and_nothing_outside_it()
        {
            string packages = Path.Combine(_dir, "packages");
            Directory.CreateDirectory(Path.Combine(packages, "sub"));
            var git = new byte[300_000];
            new Random(7).NextBytes(git);
            File.WriteAllBytes(Path.Combine(packages, "git-2.46.0.tgz"), git);
            File.WriteAllText(Path.Combine(packages, "gtk+3-3.24.43.tgz"), "plus");
            File.WriteAllText(Path.Combine(packages, "sub", "hidden.tgz"), "no");
            File.WriteAllText(Path.Combine(_dir, "secret.txt"), "no");

            using var server = ResponseServer.Start(new Cloud.RecordingReporter());
            server.AddDirectory("packages", packages);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.Port}/") };
            Assert.Equal(git, await http.GetByteArrayAsync("packages/git-2.46.0.tgz"));
            Assert.Equal("plus", await http.GetStringAsync("packages/gtk%2B3-3.24.43.tgz"));
            // pkg_add lists a repository by fetching its URL and taking each <A HREF="....tgz"> (PackageRepository.pm get_http_list).
            string index = await http.GetStringAsync("packages/");
            var links = System.Text.RegularExpressions.Regex.Matches(index, @"<A[^>]*\s+HREF=""(.*?\.tgz)""", System.Text.RegularExpressions.RegexOptions.IgnoreCase)
                .Select(m => Uri.UnescapeDataString(m.Groups[1].Value));
            Assert.Equal(new[] { "git-2.46.0.tgz", "gtk+3-3.24.43.tgz" }, links);
            foreach (string outside in new[] { "packages/../secret.txt", "packages/%2e%2e%2fsecret.txt", "packages/sub/hidden.tgz", "packages/sub", "packages/index.txt" })
                Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(outside)).StatusCode);
        }

        [Fact]
        public void The_first_boot_script_adds_packages_raises_limits_and_only_skips_relinking_when_asked()
        {
            var request = new ImageBuildRequest
            {
                Version = "7.8", Mirror = new Uri("https://cdn.openbsd.org/pub/OpenBSD/"), BuildUserKey = BuildKey, Output = Output,
                Packages = new List<string> { "rust", "git" },
            };
            // Images/first-boot.sh with this request's inputs; what the script does with them is in the file (and ImageBuildEndToEndTests runs it).
            string script = FirstBootScript.Render(request, request.EffectivePackagePath());
            Assert.Contains("\nPKG_PATH=https://cdn.openbsd.org/pub/OpenBSD/7.8/packages/aarch64/\n", script);
            Assert.Contains("\nPACKAGES='rust git'\n", script);
            Assert.Contains("export PKG_PATH", script);
            Assert.Contains("pkg_add -I $PACKAGES", script);
            Assert.Contains(":datasize=infinity:", script);
            // A class of our own: OpenBSD's login.conf already has "build", capped at 1843M.
            Assert.Contains("\nLOGIN_CLASS=openbsdbuild\n", script);
            Assert.Contains("grep -q \"^$LOGIN_CLASS:\" /etc/login.conf", script);
            Assert.Contains("usermod -L \"$LOGIN_CLASS\" \"$BUILD_USER\"", script);
            Assert.Contains("\nBUILD_USER=builder\n", script);
            Assert.Contains("\nWORK_ROOT=/usr/obj/openbsdbuild\n", script);
            Assert.Contains("set timeout 1", script);
            Assert.Contains("rm -f /root/.ssh/authorized_keys", script);
            Assert.Contains("\nSKIP_RELINK=no\n", script);
            request.SkipRelink = true;
            Assert.Contains("\nSKIP_RELINK=yes\n", FirstBootScript.Render(request, request.EffectivePackagePath()));
            Assert.Contains("rcctl disable library_aslr", FirstBootScript.Render(request, request.EffectivePackagePath()));
            request.Packages.Clear();
            Assert.Contains("\nPKG_PATH=''\nPACKAGES=''\n", FirstBootScript.Render(request, request.EffectivePackagePath()));

            string output = "noise\n@@obb-packages@@\nrust-1.86.0\np5-Locale-gettext-1.07p0\nvim-9.1.0-no_x11\n@@obb-packages@@\n" +
                            "@@obb-hostkeys@@\r\n256 SHA256:Ljm1Vw3QkBmFvKq7kqoXDe0GzT1oA0sQ6V6N0v0r5xM root@obsd (ED25519)\r\n@@obb-hostkeys@@\r\n";
            Assert.Equal(new[] { "rust 1.86.0", "p5-Locale-gettext 1.07p0", "vim 9.1.0-no_x11" },
                FirstBootScript.ParsePackages(output).Select(p => p.Name + " " + p.Version));
            Assert.Equal(new[] { "SHA256:Ljm1Vw3QkBmFvKq7kqoXDe0GzT1oA0sQ6V6N0v0r5xM" }, FirstBootScript.ParseFingerprints(output));
        }
    }
}
