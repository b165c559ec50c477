using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Tests.Build
{
    /// <summary>
    /// The verified fetch cuts one concatenated stream at the sizes the guest listed (pure logic, so a
    /// canned guest). Every way the stream can disagree with the guest's hashes must leave nothing behind.
    /// The same path against the real guest: GuestTransferTests.
    /// </summary>
    public class ArtifactStreamTests : IDisposable
    {
        private readonly string _dest = Directory.CreateTempSubdirectory("obb-stream-").FullName;

        private static readonly byte[] A = Encoding.ASCII.GetBytes("first artifact\n");
        private static readonly byte[] B = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray();

        /// <summary>Answers the listing and hashing scripts as a guest would, and streams whatever bytes it is given.</summary>
        private sealed class CannedGuest : IHostShell
        {
            private readonly byte[] _stream;
            public CannedGuest(byte[] stream) => _stream = stream;
            public string? Names { get; private set; }
            public string Description => "canned";
            public bool IsLocal => false;

            public Task<ShellResult> RunAsync(string command, CancellationToken ct) =>
                Task.FromResult(new ShellResult(0, $"D\t0\t{A.Length}\tout\tout/a.txt\nD\t0\t{B.Length}\tout\tout/b.bin\n@@top\nout\n", ""));

            public Task<int> StreamAsync(string c, Stream? i, Action<string>? o, Action<string>? e, CancellationToken ct)
            {
                Assert.Contains("xargs -0 sha256sum", c);
                o!($"{Hex(A)}  out/a.txt");
                o!($"{Hex(B)}  out/b.bin");
                return Task.FromResult(0);
            }

            public async Task<int> ReadAsync(string c, Stream? input, Func<Stream, Task> read, Action<string>? e, CancellationToken ct)
            {
                Names = new StreamReader(input!).ReadToEnd();
                await read(new MemoryStream(_stream));
                return 0;
            }

            public Task DownloadAsync(string p, Stream d, Action<long>? pr, CancellationToken ct) => throw new NotSupportedException();
            public Task UploadAsync(Stream s, string p, Action<long>? pr, CancellationToken ct) => throw new NotSupportedException();
            public Task<Tunnel> OpenTunnelAsync(string h, int p, CancellationToken ct) => throw new NotSupportedException();
            public Task<Tunnel> ExposeLocalPortAsync(int p, CancellationToken ct) => throw new NotSupportedException();
            public void Dispose() { }
        }

        private static string Hex(byte[] data) => Checksums.Hex(SHA256.HashData(data));

        private Task<System.Collections.Generic.IReadOnlyList<OpenBsdBuild.Model.BuildArtifact>> Collect(CannedGuest guest) =>
            ArtifactCollector.CollectAsync(guest, "canned", "/work", new[] { "out" }, _dest, NullReporter.Instance, default);

        [Fact]
        public async Task The_stream_is_cut_at_the_listed_sizes_and_each_file_verified()
        {
            var guest = new CannedGuest(A.Concat(B).ToArray());
            var artifacts = await Collect(guest);
            Assert.Equal("out/a.txt\0out/b.bin\0", guest.Names);
            Assert.Equal(A, File.ReadAllBytes(Path.Combine(_dest, "out", "a.txt")));
            Assert.Equal(B, File.ReadAllBytes(Path.Combine(_dest, "out", "b.bin")));
            Assert.Equal(new[] { Hex(A), Hex(B) }, artifacts.Select(a => a.Sha256));
        }

        [Theory]
        [InlineData("flipped")]
        [InlineData("short")]
        [InlineData("long")]
        public async Task A_stream_that_disagrees_with_the_guest_leaves_nothing_behind(string damage)
        {
            byte[] stream = A.Concat(B).ToArray();
            if (damage == "flipped") stream[A.Length + 1234] ^= 0x40;
            if (damage == "short") stream = stream.Take(stream.Length - 1).ToArray();
            if (damage == "long") stream = stream.Concat(new byte[] { 1 }).ToArray();
            var e = await Assert.ThrowsAsync<OpenBsdBuildException>(() => Collect(new CannedGuest(stream)));
            Assert.Equal("ArtifactChecksumMismatch", e.ErrorId);
            Assert.Empty(Directory.GetFiles(_dest, "*", SearchOption.AllDirectories));
        }

        public void Dispose() => Directory.Delete(_dest, true);
    }
}
