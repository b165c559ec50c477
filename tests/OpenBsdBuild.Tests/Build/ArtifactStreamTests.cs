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

        private static readonly string Listing = $"D\t0\t{A.Length}\tout\tout/a.txt\nD\t0\t{B.Length}\tout\tout/b.bin\n";

        /// <summary>
        /// Answers fetch-artifacts.sh as a guest would: the listing, then whatever bytes it is given on stdout, the hashes
        /// and an unrelated error on stderr. Like SshShell, a cancel of the command ends it with OperationCanceledException.
        /// </summary>
        private sealed class CannedGuest : IHostShell
        {
            private readonly string _stdout;
            private readonly byte[] _data;
            public CannedGuest(byte[] data, string listing = "") { _data = data; _stdout = listing.Length > 0 ? listing : Listing + "@@data\n"; }
            public string? Command { get; private set; }
            public bool Cancelled { get; private set; }
            public string Description => "canned";
            public bool IsLocal => false;

            public async Task<int> ReadAsync(string c, Stream? input, Func<Stream, Task> read, Action<string>? e, CancellationToken ct)
            {
                Command = c;
                Assert.Null(input);
                e!($"{Hex(A)}  out/a.txt");
                e!("xargs: warning: this line is not a hash");
                e!($"{Hex(B)}  out/b.bin");
                await read(new MemoryStream(Encoding.UTF8.GetBytes(_stdout).Concat(_data).ToArray()));
                Cancelled = ct.IsCancellationRequested;
                ct.ThrowIfCancellationRequested();
                return 0;
            }

            public Task<ShellResult> RunAsync(string command, CancellationToken ct) => throw new NotSupportedException("one command: ReadAsync");
            public Task<int> StreamAsync(string c, Stream? i, Action<string>? o, Action<string>? e, CancellationToken ct) => throw new NotSupportedException("one command: ReadAsync");
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
            Assert.Contains("OBB_PATTERNS", guest.Command);
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

        [Fact]
        public async Task Two_files_for_one_name_stop_the_command_before_anything_is_written()
        {
            var guest = new CannedGuest(A.Concat(A).ToArray(), $"F\t0\t{A.Length}\tx/a.txt\nF\t0\t{A.Length}\ty/a.txt\n@@data\n");
            var e = await Assert.ThrowsAsync<OpenBsdBuildException>(() => Collect(guest));
            Assert.Equal("ArtifactNameCollision", e.ErrorId);
            Assert.True(guest.Cancelled, "the guest's command was left to send everything");
            Assert.Empty(Directory.GetFiles(_dest, "*", SearchOption.AllDirectories));
        }

        [Fact]
        public async Task A_pattern_that_matches_nothing_names_what_the_working_directory_holds()
        {
            var guest = new CannedGuest(Array.Empty<byte>(), "M\t0\n@@top\nsrc\nMakefile\n");
            var e = await Assert.ThrowsAsync<OpenBsdBuildException>(() => Collect(guest));
            Assert.Equal("ArtifactNotFound", e.ErrorId);
            Assert.Contains("contains: src, Makefile.", e.Message);
            Assert.False(guest.Cancelled);
        }

        public void Dispose() => Directory.Delete(_dest, true);
    }
}
