using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

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

        private (int Code, string Status) Run(string script)
        {
            Directory.CreateDirectory(Path.Combine(_dir, "bin"));
            File.WriteAllText(Path.Combine(_dir, "bin", "shutdown"), $"#!/bin/sh\necho \"$@\" >> {_dir}/shutdown.args\n");
            File.WriteAllText(Path.Combine(_dir, "user-data"), script);
            string output = Tools.Sh($"chmod +x {_dir}/bin/shutdown; env PATH={_dir}/bin:$PATH OBB_STATE_DIR={_dir}/state bash {_dir}/user-data > {_dir}/log 2>&1; echo $?");
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

        [Theory]
        [InlineData(true)]
        [InlineData(false)]
        public async Task The_golden_image_is_downloaded_and_its_checksum_checked(bool rightChecksum)
        {
            byte[] image = RandomNumberGenerator.GetBytes(3 << 20);
            string sha = Convert.ToHexString(SHA256.HashData(rightChecksum ? image : new byte[] { 1 })).ToLowerInvariant();
            using var server = new OneFileServer(image);
            var (code, status) = await Task.Run(() => Run(UserDataScript.Render(new UserDataOptions { ImageUrl = server.Url, ImageSha256 = sha })));
            string final = Path.Combine(_dir, "state", "images", "golden.qcow2");
            if (rightChecksum)
            {
                Assert.Equal(0, code);
                Assert.Equal("phase=ready percent=100 message=ready", status);
                Assert.Equal(image, File.ReadAllBytes(final));
            }
            else
            {
                Assert.NotEqual(0, code);
                Assert.StartsWith("phase=failed percent=0 message=golden image SHA-256 mismatch", status);
                Assert.False(File.Exists(final));
            }
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
            private readonly HttpListener _listener = new HttpListener();
            private readonly CancellationTokenSource _stop = new CancellationTokenSource();

            public OneFileServer(byte[] content)
            {
                var probe = new TcpListener(IPAddress.Loopback, 0);
                probe.Start();
                int port = ((IPEndPoint)probe.LocalEndpoint).Port;
                probe.Stop();
                Url = new Uri($"http://127.0.0.1:{port}/golden.qcow2?X-Amz-Signature=abc");
                _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                _listener.Start();
                _ = Task.Run(async () =>
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        HttpListenerContext ctx;
                        try { ctx = await _listener.GetContextAsync(); } catch { return; }
                        ctx.Response.ContentLength64 = content.Length;
                        try { await ctx.Response.OutputStream.WriteAsync(content); } catch { }
                        ctx.Response.Close();
                    }
                });
            }

            public Uri Url { get; }

            public void Dispose()
            {
                _stop.Cancel();
                _listener.Close();
            }
        }
    }
}
