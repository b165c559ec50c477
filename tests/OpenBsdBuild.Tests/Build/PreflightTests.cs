using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Tests.Build
{
    /// <summary>Preflight's reading of df/ulimit output (pure logic; the guest tests cover the real commands).</summary>
    public class PreflightTests
    {
        private sealed class CannedShell : IHostShell
        {
            private readonly string _stdout;
            public CannedShell(string stdout) => _stdout = stdout;
            public string Description => "canned";
            public bool IsLocal => false;
            public Task<ShellResult> RunAsync(string command, CancellationToken ct) => Task.FromResult(new ShellResult(0, _stdout, ""));
            public Task<int> StreamAsync(string c, Stream? i, Action<string>? o, Action<string>? e, CancellationToken ct) => throw new NotSupportedException();
            public Task DownloadAsync(string p, Stream d, Action<long>? pr, CancellationToken ct) => throw new NotSupportedException();
            public Task<int> ReadAsync(string c, Stream? i, Func<Stream, Task> r, Action<string>? e, CancellationToken ct) => throw new NotSupportedException();
            public Task<Tunnel> OpenTunnelAsync(string h, int p, CancellationToken ct) => throw new NotSupportedException();
            public Task UploadAsync(Stream s, string p, Action<long>? pr, CancellationToken ct) => throw new NotSupportedException();
            public Task<Tunnel> ExposeLocalPortAsync(int p, CancellationToken ct) => throw new NotSupportedException();
            public void Dispose() { }
        }

        private sealed class Warnings : IOperationReporter
        {
            public readonly List<string> Seen = new List<string>();
            public void Progress(string a, string s, int p = -1, int id = 0) { }
            public void ProgressDone(string a, int id = 0) { }
            public void Verbose(string m) { }
            public void Warning(string m) => Seen.Add(m);
            public void Information(string m, params string[] t) { }
        }

        private const string Roomy = "/dev/sd0h 20000000 1000000 19000000 5% /usr/obj\n/dev/sd0d 4000000 100000 3900000 3% /tmp\n";

        private static (Preflight.Findings, List<string>) Check(string output)
        {
            var w = new Warnings();
            var f = Preflight.CheckAsync(new CannedShell(output), "/usr/obj/b", new BuildSpec { Command = "make", MinFreeSpace = 1L << 30 }, w, default).GetAwaiter().GetResult();
            return (f, w.Seen);
        }

        [Fact]
        public void OpenBSD_default_class_limit_that_cannot_be_raised_is_a_warning()
        {
            // arm64 login.conf 1.17: class default is 1536M for both limits.
            var (f, warnings) = Check(Roomy + "datasize 1572864 1572864\nprogram yes\n");
            Assert.False(f.RaiseDataSize);
            Assert.Contains(warnings, w => w.Contains("data-size limit (ulimit -d) is 1536 MB") && w.Contains("datasize=infinity"));
        }

        [Fact]
        public void Staff_class_soft_limit_is_raised_to_the_hard_limit_without_a_warning()
        {
            var (f, warnings) = Check(Roomy + "datasize 1572864 unlimited\nprogram yes\n");
            Assert.True(f.RaiseDataSize);
            Assert.Empty(warnings);
            Assert.Contains("\nOBB_RAISE_DATA_SIZE=yes\n", BuildRunner.RunScript(new BuildSpec { Command = "make" }, "/w", "/w.pid", f)); // run-build.sh: ulimit -d "$(ulimit -H -d)"
            Assert.Contains("\nOBB_RAISE_DATA_SIZE=no\n", BuildRunner.RunScript(new BuildSpec { Command = "make" }, "/w", "/w.pid", new Preflight.Findings()));
        }

        [Fact]
        public void A_one_gigabyte_tmp_gets_a_TMPDIR_beside_the_working_directory()
        {
            var (f, warnings) = Check("/dev/sd0h 20000000 1000000 19000000 5% /usr/obj\n/dev/sd0d 1000000 900000 100000 90% /tmp\ndatasize unlimited unlimited\nprogram yes\n");
            Assert.Equal("/usr/obj/b.tmp", f.TmpDir);
            Assert.Contains(warnings, w => w.StartsWith("/tmp has only 97 MB free"));
        }

        [Theory]
        [InlineData("cargo build --release", "cargo")]
        [InlineData("CARGO_HOME=/x cargo build", "cargo")]
        [InlineData("./configure && make", null)]
        [InlineData("cd sub && make", null)]
        [InlineData("$MAKE all", null)]
        [InlineData("make -j4", "make")]
        public void The_first_program_is_checked_only_when_it_can_be_known_up_front(string command, string? expected) =>
            Assert.Equal(expected, Preflight.FirstProgram(command));

        [Fact]
        public void Both_checksum_listing_formats_parse()
        {
            string hex = new string('a', 64);
            var gnu = Checksums.ParseListing($"{hex}  out/app\n");
            var bsd = Checksums.ParseListing($"SHA256 (out/my app) = {hex.ToUpperInvariant()}\n");
            Assert.Equal(hex, gnu["out/app"]);
            Assert.Equal(hex, bsd["out/my app"]);
            Assert.Equal($"SHA256 (x) = {hex}", Checksums.BsdLine("x", hex));
        }

        [Fact]
        public void Errors_beside_the_hashes_on_a_guests_stderr_are_not_read_as_hashes()
        {
            // The fetch's hashes share stderr with cat's and sha256's errors; a long error has a space at column 64 too.
            string error = "cat: out/" + new string('x', 55) + "  y: Permission denied";
            Assert.Equal(' ', error[64]);
            Assert.False(Checksums.TryParseLine(error, out _, out _));
            Assert.False(Checksums.TryParseLine("sha256: out/app: No such file or directory", out _, out _));
            Assert.True(Checksums.TryParseLine(new string('0', 64) + "  out/app", out _, out _));
            Assert.Empty(Checksums.ParseListing(error));
        }

        [Fact]
        public void A_nearly_full_mount_is_named_from_df()
        {
            string df = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sd0d 1000000 999000 1000 100% /tmp\n/dev/sd0h 5000000 100 4999900 1% /usr/obj\n";
            Assert.Equal("/tmp (100% used, 0 MB free of 976 MB)", FailureDiagnosis.FullMount(df));
        }
    }
}
