using System;
using System.IO;
using System.Net;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Tests.Fixtures;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// Runs the rendered user data for real with bash (QEMU is already installed here, so the
    /// package step is skipped by the script itself); only `shutdown` is a recording stand-in.
    /// The golden-image download is served over HTTP from this process.
    /// </summary>
    public sealed class UserDataScriptTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-userdata-").FullName;

        public void Dispose() => Directory.Delete(_dir, true);

        /// <param name="imagesLimit">Runs the script in a mount namespace of its own where the images folder is a tmpfs of this size.</param>
        /// <param name="ami">Runs the script on this stand-in for a fresh Ubuntu AMI (no QEMU, apt with its locks) instead of this machine.</param>
        private (int Code, string Status) Run(string script, string? imagesLimit = null, FreshUbuntuAmi? ami = null)
        {
            Directory.CreateDirectory(Path.Combine(_dir, "bin"));
            File.WriteAllText(Path.Combine(_dir, "bin", "shutdown"), $"#!/bin/sh\necho \"$@\" >> {_dir}/shutdown.args\n");
            File.WriteAllText(Path.Combine(_dir, "user-data"), script);
            string path = ami == null ? "$PATH" : ami.SystemBin;
            string run = $"env PATH={_dir}/bin:{path} OBB_STATE_DIR={_dir}/state bash {_dir}/user-data > {_dir}/log 2>&1";
            if (imagesLimit != null)
                run = $"mkdir -p {_dir}/state/images && unshare -m sh -c 'mount -t tmpfs -o size={imagesLimit} tmpfs {_dir}/state/images && {run}; rc=$?; ls -A {_dir}/state/images > {_dir}/images.left; exit $rc'";
            string output = Tools.Sh($"chmod +x {_dir}/bin/shutdown; {run}; echo $?");
            return (int.Parse(output.Trim()), File.ReadAllText(Path.Combine(_dir, "state", "status")).Trim());
        }

        [Fact]
        public void Without_an_image_it_arms_the_self_destruct_prints_the_markers_and_ends_ready()
        {
            var (code, status) = Run(UserDataScript.Render(new UserDataOptions { MaxLifetime = TimeSpan.FromMinutes(90) }));
            Assert.Equal(0, code);
            Assert.Equal("phase=ready percent=100 message=ready", status);
            Assert.StartsWith("-h +90 ", File.ReadAllText(Path.Combine(_dir, "shutdown.args")));
            string log = File.ReadAllText(Path.Combine(_dir, "log"));
            Assert.Contains(ConsoleFingerprints.Begin, log);
            Assert.Contains(ConsoleFingerprints.End, log);
        }

        [Fact]
        public void On_a_fresh_AMI_apt_waits_for_the_boot_time_apt_runs_instead_of_failing()
        {
            var ami = new FreshUbuntuAmi(Path.Combine(_dir, "ami"));
            // apt-daily's update holds the lists lock, then unattended-upgrades the dpkg lock, as at first boot.
            ami.StartBootTimeAptRuns(update: TimeSpan.FromSeconds(3), upgrade: TimeSpan.FromSeconds(10));
            var (code, status) = Run(UserDataScript.Render(new UserDataOptions()), ami: ami);
            Assert.True(code == 0, File.ReadAllText(Path.Combine(_dir, "log")) + "\napt:\n" + ami.AptLog);
            Assert.Equal("phase=ready percent=100 message=ready", status);
            Assert.Contains("update: lock busy", ami.AptLog);
            Assert.Contains("install: done qemu-system-arm qemu-efi-aarch64 qemu-utils", ami.AptLog);
            Assert.True(File.Exists(Path.Combine(ami.SystemBin, "qemu-system-aarch64")));
        }

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task The_golden_image_is_downloaded_and_its_checksum_checked(bool rightChecksum)
        {
            byte[] image = RandomNumberGenerator.GetBytes(3 << 20);
            string sha = Convert.ToHexString(SHA256.HashData(rightChecksum ? image : new byte[] { 1 })).ToLowerInvariant();
            using var server = new OneFileServer(image);
            string metadata = "{\"name\": \"openbsd-7.9-arm64\", \"note\": \"it's \\\"quoted\\\"\\nEOF\"}";
            var (code, status) = await Task.Run(() => Run(UserDataScript.Render(new UserDataOptions { ImageUrl = server.Url, ImageSha256 = sha, ImageMetadataJson = metadata })));
            string final = Path.Combine(_dir, "state", "images", "golden.qcow2");
            if (rightChecksum)
            {
                Assert.Equal(0, code);
                Assert.Equal("phase=ready percent=100 message=ready", status);
                Assert.Equal(image, File.ReadAllBytes(final));
                Assert.Equal(metadata, File.ReadAllText(final + ".json")); // the sidecar travels with the image
            }
            else
            {
                Assert.NotEqual(0, code);
                Assert.StartsWith("phase=failed percent=0 message=golden image SHA-256 mismatch", status);
                Assert.False(File.Exists(final));
                Assert.False(File.Exists(final + ".json"));
            }
        }

        /// <summary>What the images folder held when the script ended (inside its own mount namespace).</summary>
        private string ImagesLeft => File.ReadAllText(Path.Combine(_dir, "images.left")).Trim();

        [Fact]
        public async Task A_disk_that_fills_during_the_image_download_fails_clearly_and_keeps_no_partial_image()
        {
            // No size up front (the server ignores ranges), so the disk fills mid-download.
            using var server = new OneFileServer(RandomNumberGenerator.GetBytes(3 << 20));
            var (code, status) = await Task.Run(() => Run(UserDataScript.Render(new UserDataOptions { ImageUrl = server.Url, ImageSha256 = new string('0', 64) }), imagesLimit: "1m"));
            Assert.NotEqual(0, code);
            Assert.StartsWith("phase=failed percent=0 message=no space left on the host's disk while downloading the golden image", status);
            Assert.Equal("", ImagesLeft);
            Assert.StartsWith("-h +120 ", File.ReadAllText(Path.Combine(_dir, "shutdown.args"))); // armed before anything could fail
            Reliability.ReliabilityDoc.Row("The host's disk fills during the image download", "OpenBsdBuild.BootstrapFailed: no space left on the host's disk", null);
        }

        [Fact]
        public async Task An_image_larger_than_the_free_space_fails_before_the_download()
        {
            using var server = new OneFileServer(RandomNumberGenerator.GetBytes(3 << 20), ranges: true);
            var (code, status) = await Task.Run(() => Run(UserDataScript.Render(new UserDataOptions { ImageUrl = server.Url, ImageSha256 = new string('0', 64) }), imagesLimit: "1m"));
            Assert.NotEqual(0, code);
            Assert.StartsWith($"phase=failed percent=0 message=not enough disk space for the golden image: it is {3 << 20} bytes", status);
            Assert.Equal("", ImagesLeft);
            Reliability.ReliabilityDoc.Row("The image is larger than the host's free disk", "OpenBsdBuild.BootstrapFailed: not enough disk space, before the download", null);
        }

        [Fact]
        public async Task An_expired_or_wrong_presigned_URL_says_so()
        {
            using var server = new OneFileServer(new byte[] { 1 }, status: 403);
            var (code, status) = await Task.Run(() => Run(UserDataScript.Render(new UserDataOptions { ImageUrl = server.Url, ImageSha256 = new string('0', 64) })));
            Assert.NotEqual(0, code);
            Assert.StartsWith("phase=failed percent=0 message=the presigned URL of the golden image was refused with HTTP 403: it has expired or is wrong", status);
            Assert.False(File.Exists(Path.Combine(_dir, "state", "images", "golden.qcow2.partial")));
            Reliability.ReliabilityDoc.Row("An expired or wrong presigned URL", "OpenBsdBuild.BootstrapFailed: the presigned URL was refused with HTTP 403", null);
        }

        [Fact]
        public void The_status_line_parses()
        {
            var s = BootstrapStatus.Parse("phase=download percent=42 message=1 of 2 bytes\n")!;
            Assert.Equal("download", s.Phase);
            Assert.Equal(42, s.Percent);
            Assert.Equal("1 of 2 bytes", s.Message);
            Assert.Null(BootstrapStatus.Parse(""));
        }

        [Fact]
        public void Console_fingerprints_come_from_the_last_marker_block_only()
        {
            string a = "SHA256:" + new string('A', 43), b = "SHA256:" + new string('B', 43);
            string console = ConsoleText.With(a) + "reboot\n" + ConsoleText.With(b) + "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n256 SHA256:" + new string('C', 43);
            Assert.Equal(new[] { b }, ConsoleFingerprints.Parse(console));
            Assert.Empty(ConsoleFingerprints.Parse("no markers " + a));
        }

        /// <summary>Serves one byte array over HTTP on loopback, as a presigned URL would.</summary>
        private sealed class OneFileServer : IDisposable
        {
            private readonly LoopbackHttpServer _server;

            /// <param name="status">What every request gets (403: an expired or wrong presigned URL).</param>
            /// <param name="ranges">Answer the one-byte ranged GET the script sizes the image with, as S3 does.</param>
            public OneFileServer(byte[] content, int status = 200, bool ranges = false)
            {
                _server = new LoopbackHttpServer(async ctx =>
                {
                    ctx.Response.StatusCode = status;
                    byte[] body = status != 200 ? System.Text.Encoding.ASCII.GetBytes("<Error><Code>AccessDenied</Code></Error>") : content;
                    if (status == 200 && ranges && ctx.Request.Headers["Range"] == "bytes=0-0")
                    {
                        ctx.Response.StatusCode = 206;
                        ctx.Response.AddHeader("Content-Range", $"bytes 0-0/{content.Length}");
                        body = content[..1];
                    }
                    ctx.Response.ContentLength64 = body.Length;
                    await ctx.Response.OutputStream.WriteAsync(body);
                });
                Url = _server.Url("/golden.qcow2?X-Amz-Signature=abc");
            }

            public Uri Url { get; }

            public void Dispose() => _server.Dispose();
        }
    }
}
