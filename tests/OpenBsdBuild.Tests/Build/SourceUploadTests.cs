using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Build
{
    /// <summary>
    /// The source upload's stream into a real process's stdin (LocalShell, real tar): packed straight into the consumer when
    /// copied, through a pipe when read; how failures on either side are told apart; a stalled consumer and a cancel.
    /// </summary>
    public sealed class SourceUploadTests : IDisposable
    {
        private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120);
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-upload-").FullName;
        private readonly LocalShell _shell = new LocalShell();

        public void Dispose() => Directory.Delete(_dir, true);

        private string Tree(int files, int bytesEach)
        {
            string src = Path.Combine(_dir, "src");
            Directory.CreateDirectory(Path.Combine(src, "sub"));
            var random = new Random(17);
            var bytes = new byte[bytesEach];
            for (int i = 0; i < files; i++)
            {
                random.NextBytes(bytes);
                File.WriteAllBytes(Path.Combine(src, i % 2 == 0 ? "sub" : "", $"f{i}.bin"), bytes);
            }
            return src;
        }

        private static BuildSpec Spec(string src) => new BuildSpec { Command = "true", SourcePath = src, IncludeIgnored = true };

        [Theory]
        [InlineData(CompressionLevel.NoCompression)]
        [InlineData(CompressionLevel.Fastest)]
        public async Task Copied_and_read_the_archive_is_the_same_tar_and_unpacks_byte_for_byte(CompressionLevel level)
        {
            Tools.Require("tar");
            string src = Tree(40, 300_000); // 12 MB: many of the 256 KB writes, and more than the pipe holds
            var selection = SourcePackager.Select(src, true, Array.Empty<string>());
            var copied = new MemoryStream();
            using (var archive = SourcePackager.Archive(selection, level, null, default))
            {
                await archive.CopyToAsync(copied, 81920, default);
                await archive.Packing;
            }
            var read = new MemoryStream();
            using (var archive = SourcePackager.Archive(selection, level, null, default))
            {
                var buffer = new byte[70_000];
                int n;
                while ((n = archive.Read(buffer, 0, buffer.Length)) > 0) read.Write(buffer, 0, n);
                await archive.Packing;
            }
            Assert.Equal(copied.ToArray(), read.ToArray());

            string dest = Path.Combine(_dir, "dest");
            Directory.CreateDirectory(dest);
            await SourceUpload.SendAsync(_shell, "local", Spec(src), dest, NullReporter.Instance, default, level);
            foreach (string f in selection.Files)
                Assert.Equal(File.ReadAllBytes(Path.Combine(src, f)), File.ReadAllBytes(Path.Combine(dest, f)));
        }

        /// <summary>
        /// SSH sends every write as its own packets, so the archive must reach stdin in its full coalesced writes. SharpZipLib
        /// flushes after every 10 KB tar record, which emptied the buffer into 10 KB writes: a TCG guest then woke 2.8× as
        /// often for the same bytes and took them at half the speed (docs/transfers.md), and gzip ended a block each time.
        /// </summary>
        [Theory]
        [InlineData(CompressionLevel.NoCompression)]
        [InlineData(CompressionLevel.Fastest)]
        public async Task Copied_the_archive_reaches_its_consumer_in_full_writes_whatever_the_tar_library_flushes(CompressionLevel level)
        {
            var selection = SourcePackager.Select(Tree(40, 300_000), true, Array.Empty<string>());
            var consumer = new WriteSizes();
            using (var archive = SourcePackager.Archive(selection, level, null, default))
            {
                await archive.CopyToAsync(consumer, 81920, default);
                await archive.Packing;
            }
            Assert.True(consumer.Sizes.Count > 20, $"{consumer.Sizes.Count} writes for 12 MB");
            Assert.All(consumer.Sizes.Take(consumer.Sizes.Count - 1), size => Assert.Equal(SourceArchive.WriteSize, size));
        }

        private sealed class WriteSizes : SequentialStream
        {
            public System.Collections.Generic.List<int> Sizes { get; } = new System.Collections.Generic.List<int>();
            public override void Write(byte[] buffer, int offset, int count) => Sizes.Add(count);
            public override bool CanRead => false;
            public override bool CanWrite => true;
        }

        [Fact]
        public async Task Over_SSH_the_archive_is_packed_straight_into_stdin_and_unpacks_byte_for_byte()
        {
            string src = Tree(24, 500_000);
            using var host = new NetnsSshHost();
            using var ssh = await SshShell.ConnectAsync(host.Target(), default);
            string remote = "/tmp/obb-up-ssh-" + Guid.NewGuid().ToString("N");
            try
            {
                Assert.True((await ssh.RunAsync($"mkdir {remote}", default)).Succeeded);
                var selection = SourcePackager.Select(src, true, Array.Empty<string>());
                using (var archive = SourcePackager.Archive(selection, CompressionLevel.NoCompression, null, default))
                {
                    int exit = await ssh.StreamAsync($"cd {remote} && tar xf -", archive, null, null, default);
                    Assert.Equal(0, exit);
                    await archive.Packing;
                    // Copied, not read: a read/write loop would put the pipe and its thread hand-offs back (docs/transfers.md).
                    Assert.False(archive.WasRead);
                }
                var sums = (await ssh.RunAsync($"cd {remote} && sha256sum sub/f0.bin f1.bin", default)).Stdout;
                Assert.Contains(Checksums.Sha256File(Path.Combine(src, "sub", "f0.bin")) + "  sub/f0.bin", sums);
                Assert.Contains(Checksums.Sha256File(Path.Combine(src, "f1.bin")) + "  f1.bin", sums);
            }
            finally
            {
                await ssh.RunAsync($"rm -rf {remote}", default);
            }
        }

        [Fact]
        public async Task Progress_is_reported_once_per_percent_not_once_per_file()
        {
            string src = Path.Combine(_dir, "many");
            Directory.CreateDirectory(src);
            for (int i = 0; i < 2000; i++) File.WriteAllText(Path.Combine(src, $"f{i:0000}.c"), new string('x', 1000 + i % 7));
            string dest = Path.Combine(_dir, "dest");
            Directory.CreateDirectory(dest);
            var reporter = new OpenBsdBuild.Tests.Cloud.RecordingReporter();
            await SourceUpload.SendAsync(_shell, "local", Spec(src), dest, reporter, default);
            Assert.Equal(2000, Directory.GetFiles(dest).Length);
            var percents = reporter.ProgressUpdates.Select(u => u.Percent).ToList();
            Assert.InRange(percents.Count, 2, 101);
            Assert.Equal(percents.Distinct().Count(), percents.Count);
            Assert.Equal(100, percents[^1]);
        }

        [Fact]
        public async Task A_file_that_reads_short_is_SourceUnreadable_naming_the_cause()
        {
            Tools.Require("tar");
            string src = Tree(8, 1 << 20);
            // sysfs says 4096 bytes and gives a line: a real read that comes up short, as a file truncated mid-pack does.
            const string Short = "/sys/kernel/mm/transparent_hugepage/enabled";
            Assert.True(File.Exists(Short), Short + " is missing on this machine");
            File.CreateSymbolicLink(Path.Combine(src, "sub", "zz-short"), Short);
            string dest = Path.Combine(_dir, "dest");
            Directory.CreateDirectory(dest);

            var ex = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                SourceUpload.SendAsync(_shell, "local", Spec(src), dest, NullReporter.Instance, default, CompressionLevel.NoCompression));
            Assert.Equal("SourceUnreadable", ex.ErrorId);
            Assert.Equal(FailureKind.ReadError, ex.Kind);
            Assert.Contains("shrank", ex.Message);
            Assert.Equal(src, ex.Target);
        }

        [Fact]
        public async Task A_consumer_that_fails_mid_stream_is_SourceUploadFailed_with_its_message_not_an_unreadable_source()
        {
            // 48 MB: the packer is still writing when the command has already failed (in the guest: a full disk, a missing directory).
            string src = Tree(48, 1 << 20);
            var ex = await Assert.ThrowsAsync<OpenBsdBuildException>(() =>
                SourceUpload.SendAsync(_shell, "local", Spec(src), Path.Combine(_dir, "no-such-directory"), NullReporter.Instance, default,
                    CompressionLevel.NoCompression));
            Assert.Equal("SourceUploadFailed", ex.ErrorId);
            Assert.Contains("no-such-directory", ex.Message);
        }

        [Fact]
        public async Task A_stalled_consumer_holds_the_packer_back_and_a_cancel_stops_both()
        {
            string src = Tree(64, 1 << 20);
            long packed = 0;
            using var cancel = new CancellationTokenSource();
            var archive = SourcePackager.Archive(SourcePackager.Select(src, true, Array.Empty<string>()), CompressionLevel.NoCompression,
                done => Interlocked.Exchange(ref packed, done), default);
            // Takes 1 MB, then stops reading: the kernel's pipe fills and the packer's write blocks.
            Task<int> upload = _shell.StreamAsync("head -c 1048576 > /dev/null && sleep 600", archive, null, null, cancel.Token);
            await WaitUntil(() => Interlocked.Read(ref packed) >= 1 << 20, "the packer to reach the stall");
            // Long enough for an unbounded packer to pack all 64 MB (it packs at 40 MB/s on a quiet machine).
            await Task.Delay(TimeSpan.FromSeconds(5));
            Assert.InRange(Interlocked.Read(ref packed), 1 << 20, 4 << 20); // 1 MB taken, the pipe, one 256 KB write, one file's progress

            cancel.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Within(upload, "the cancelled command"));
            archive.Dispose();
            // The packer is not left blocked: its write failed with the consumer gone, or it saw the cancel.
            var ended = await Record(() => Within(archive.Packing, "the packer after the cancel"));
            Assert.True(ended is OperationCanceledException || ended is SourceArchive.ConsumerGoneException, ended?.ToString() ?? "packing completed");
            Assert.True(Interlocked.Read(ref packed) < 8 << 20, $"packed {Interlocked.Read(ref packed)} bytes after the cancel");
        }

        private static async Task WaitUntil(Func<bool> condition, string what)
        {
            var giveUp = DateTime.UtcNow + HangGuard;
            while (!condition())
            {
                if (DateTime.UtcNow > giveUp) throw new TimeoutException($"Gave up waiting for {what}.");
                await Task.Delay(50);
            }
        }

        private static async Task Within(Task task, string what)
        {
            if (await Task.WhenAny(task, Task.Delay(HangGuard)) != task) throw new TimeoutException($"{what} never ended.");
            await task;
        }

        private static async Task<Exception?> Record(Func<Task> action)
        {
            try { await action(); return null; }
            catch (Exception ex) { return ex; }
        }
    }
}
