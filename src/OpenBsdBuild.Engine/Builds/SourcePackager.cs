using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Builds
{
    /// <summary>
    /// Chooses which files of a source tree to send and packs them as one tar.gz stream.
    /// In a git work tree: what git tracks plus untracked files that are not ignored.
    /// </summary>
    public static class SourcePackager
    {
        public sealed class Selection
        {
            public Selection(string root, IReadOnlyList<string> files, bool fromGit)
            {
                Root = root;
                Files = files;
                FromGit = fromGit;
            }

            public string Root { get; }
            /// <summary>Paths relative to <see cref="Root"/>, '/'-separated.</summary>
            public IReadOnlyList<string> Files { get; }
            public bool FromGit { get; }
        }

        public static Selection Select(string root, bool includeIgnored, IReadOnlyList<string> exclude)
        {
            root = Path.GetFullPath(root);
            if (!Directory.Exists(root))
                throw new OpenBsdBuildException("SourceNotFound", FailureKind.ObjectNotFound,
                    $"The source directory '{root}' does not exist.", root, "Pass -Path with an existing directory.");
            IReadOnlyList<string>? fromGit = includeIgnored ? null : GitFiles(root);
            IEnumerable<string> files = fromGit ?? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
                .Select(f => Relative(root, f));
            var patterns = exclude.Select(GlobToRegex).ToList();
            var chosen = files.Where(f => !patterns.Any(p => p.IsMatch(f) || f.Split('/').Any(part => p.IsMatch(part))))
                .OrderBy(f => f, StringComparer.Ordinal).ToList();
            return new Selection(root, chosen, fromGit != null);
        }

        /// <summary>
        /// Deflate's fastest level when a byte-weighted sample of the selection shrinks below 60 % (source text
        /// lands near 30 %), no compression otherwise (binaries, archives, media): the guest inflates on a CPU that
        /// may be emulated, where decoding incompressible data costs it more than receiving it, and even gzip's
        /// stored blocks cost it a second process, a pipe and a CRC per byte that `tar | ssh tar x` does not pay.
        /// Measured: docs/transfers.md.
        /// </summary>
        public static CompressionLevel ChooseLevel(Selection selection)
        {
            const int Samples = 64, SampleBytes = 64 << 10;
            var sizes = selection.Files.Select(f => new FileInfo(Path.Combine(selection.Root, f))).Select(i => i.Exists ? i.Length : 0).ToList();
            long total = sizes.Sum();
            if (total == 0) return CompressionLevel.Fastest;
            var counter = new CountingStream();
            long raw = 0;
            var buffer = new byte[SampleBytes];
            using (var deflate = new DeflateStream(counter, CompressionLevel.Fastest, leaveOpen: true))
            {
                int file = 0;
                long start = 0; // of files[file] in the concatenation
                for (int k = 0; k < Samples; k++)
                {
                    long at = total * k / Samples;
                    while (start + sizes[file] <= at) start += sizes[file++];
                    try
                    {
                        using var stream = new FileStream(Path.Combine(selection.Root, selection.Files[file]), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                        stream.Position = at - start;
                        int read = stream.Read(buffer, 0, buffer.Length);
                        deflate.Write(buffer, 0, read);
                        raw += read;
                    }
                    catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                    {
                        // Unreadable now: packing reports it properly.
                    }
                }
            }
            return raw > 0 && counter.Length < raw * 0.6 ? CompressionLevel.Fastest : CompressionLevel.NoCompression;
        }

        private sealed class CountingStream : SequentialStream
        {
            private long _length;
            public override bool CanRead => false;
            public override bool CanWrite => true;
            public override long Length => _length;
            public override long Position { get => _length; set => throw new NotSupportedException(); }
            public override void Write(byte[] buffer, int offset, int count) => _length += count;
        }

        /// <summary>
        /// Packs the selection into <paramref name="output"/> (left open): tar.gz, or a plain tar for
        /// <see cref="CompressionLevel.NoCompression"/> (the guest's command for either: <see cref="UnpackCommand"/>).
        /// </summary>
        public static void Pack(Selection selection, Stream output, CompressionLevel level, Action<long>? progress, CancellationToken cancellationToken)
        {
            using GZipStream? gzip = level == CompressionLevel.NoCompression ? null : new GZipStream(output, level, leaveOpen: true);
            var tar = new TarWriter((Stream?)gzip ?? output);
            long done = 0;
            foreach (string relative in selection.Files)
            {
                cancellationToken.ThrowIfCancellationRequested();
                string full = Path.Combine(selection.Root, relative);
                var info = new FileInfo(full);
                if (!info.Exists) continue; // deleted since git listed it
                tar.AddFile(relative, full);
                done += info.Length;
                progress?.Invoke(done);
            }
            tar.Finish();
        }

        /// <summary>The guest's tar flags for a stream <see cref="Pack"/> made at <paramref name="level"/>.</summary>
        public static string UnpackCommand(CompressionLevel level) => level == CompressionLevel.NoCompression ? "tar xf -" : "tar xzf -";

        /// <summary>The selection as a tar stream (see <see cref="Pack"/>), packed while it is consumed.</summary>
        internal static SourceArchive Archive(Selection selection, CompressionLevel level, Action<long>? progress, CancellationToken cancellationToken) =>
            new SourceArchive((output, stop) => Pack(selection, output, level, progress, stop), cancellationToken);

        private static IReadOnlyList<string>? GitFiles(string root)
        {
            try
            {
                var psi = new ProcessStartInfo("git", "ls-files -z --cached --others --exclude-standard")
                {
                    WorkingDirectory = root,
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    StandardOutputEncoding = Encoding.UTF8,
                };
                Reporting.OperationTrace.Action("local", $"git ls-files -z --cached --others --exclude-standard (in {root})");
                using var git = Process.Start(psi);
                if (git == null) return null;
                var errors = git.StandardError.ReadToEndAsync();
                string listing = git.StandardOutput.ReadToEnd();
                git.WaitForExit();
                if (git.ExitCode != 0) return null; // not a work tree
                return listing.Split(new[] { '\0' }, StringSplitOptions.RemoveEmptyEntries)
                    .Where(f => File.Exists(Path.Combine(root, f))) // skips submodule gitlinks and deleted files
                    .Distinct().ToList();
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null; // no git on this machine: send every file
            }
        }

        private static string Relative(string root, string full) =>
            full.Substring(root.Length).TrimStart(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Replace('\\', '/');

        /// <summary>
        /// "*.o", "target/**", "build/?" style patterns. Our own: Microsoft.Extensions.FileSystemGlobbing has no
        /// "?", and PowerShell's WildcardPattern has no "**" and lets "*" cross "/".
        /// </summary>
        internal static Regex GlobToRegex(string glob)
        {
            var sb = new StringBuilder("^");
            for (int i = 0; i < glob.Length; i++)
            {
                char c = glob[i];
                if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*') { sb.Append(".*"); i++; }
                else if (c == '*') sb.Append("[^/]*");
                else if (c == '?') sb.Append("[^/]");
                else sb.Append(Regex.Escape(c.ToString()));
            }
            return new Regex(sb.Append("$").ToString(), RegexOptions.CultureInvariant);
        }
    }
}
