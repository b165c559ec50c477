using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Builds
{
    /// <summary>
    /// Brings artifacts home: resolves patterns in the guest, hashes there, downloads, hashes
    /// here, and only then gives the file its real name. A file that does not match is deleted,
    /// so nothing that looks complete is ever left unverified.
    /// </summary>
    public static class ArtifactCollector
    {
        private sealed class RemoteFile
        {
            public string Path = "";
            public string Name = "";
            public long Size;
            public string RemotePath = "";
        }

        public static async Task<IReadOnlyList<BuildArtifact>> CollectAsync(IHostShell guest, string guestName, string workingDirectory,
            IReadOnlyList<string> patterns, string destination, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            if (patterns.Count == 0) return Array.Empty<BuildArtifact>();
            var files = await ResolveAsync(guest, workingDirectory, patterns, cancellationToken).ConfigureAwait(false);

            // The guest hashes while the bytes travel: the check costs no extra wall time.
            using var stopHashing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Task<Dictionary<string, string>> guestHashes = HashAsync(guest, workingDirectory, files, stopHashing.Token);
            Directory.CreateDirectory(destination);
            var downloaded = new List<(RemoteFile file, string partial, string local, string hash, long written)>();
            long total = files.Sum(f => f.Size);
            string activity = $"Downloading artifacts from {guestName}";
            try
            {
                await DownloadAllAsync(guest, workingDirectory, files, destination, downloaded,
                    (file, done) => reporter.Progress(activity, $"{file.Name} ({Mb(done)} of {Mb(total)} MB)", Percent(done, total)),
                    cancellationToken).ConfigureAwait(false);
                var expected = await guestHashes.ConfigureAwait(false);
                var artifacts = new List<BuildArtifact>();
                foreach (var d in downloaded)
                {
                    string remoteHash = expected[d.file.Path];
                    if (remoteHash != d.hash || d.written != d.file.Size)
                        throw new OpenBsdBuildException("ArtifactChecksumMismatch", FailureKind.InvalidData,
                            $"'{d.file.Path}' arrived damaged: the guest computed SHA-256 {remoteHash} ({d.file.Size} bytes), the download has {d.hash} ({d.written} bytes). " +
                            $"It{(downloaded.Count > 1 ? " and the other files of this fetch" : "")} was deleted.",
                            d.file.Path, "Run the build again; if it repeats, the file may be changing while it is copied, or the link is corrupting data.");
                }
                // All verified before any takes its real name: a fetch is whole or leaves nothing.
                foreach (var d in downloaded)
                {
                    if (File.Exists(d.local)) File.Delete(d.local);
                    File.Move(d.partial, d.local);
                    artifacts.Add(new BuildArtifact(d.file.Name, Path.GetFullPath(d.local), d.written, d.hash, d.file.RemotePath, guestName));
                }
                downloaded.Clear();
                // OpenBSD's own sha256(1) format, so `sha256 -C SHA256` checks the folder there.
                File.WriteAllText(Path.Combine(destination, "SHA256"),
                    string.Concat(artifacts.Select(a => Checksums.BsdLine(a.Name, a.Sha256) + "\n")));
                return artifacts;
            }
            finally
            {
                stopHashing.Cancel();
                foreach (var d in downloaded) TryDelete(d.partial); // unverified: nothing may look complete
                reporter.ProgressDone(activity);
                try { await guestHashes.ConfigureAwait(false); } catch (Exception) { /* reported above, or moot after a failure */ }
            }
        }

        private static async Task<List<RemoteFile>> ResolveAsync(IHostShell guest, string workingDirectory, IReadOnlyList<string> patterns, CancellationToken cancellationToken)
        {
            string script = ShellTemplate.Load("list-artifacts.sh").Render(new ShellInputs()
                .Set("OBB_WORK_DIR", workingDirectory).Set("OBB_PATTERNS", string.Join("\n", patterns.Select(RequireOneLine))));
            ShellResult result = await guest.RunAsync(script, cancellationToken).ConfigureAwait(false);
            if (result.ExitCode == 3)
                throw new OpenBsdBuildException("WorkingDirectoryMissing", FailureKind.ObjectNotFound,
                    $"The working directory '{workingDirectory}' does not exist in the guest.", workingDirectory,
                    "Check -WorkingDirectory; artifacts are looked up relative to it.");

            string[] parts = result.Stdout.Split(new[] { "@@top\n" }, 2, StringSplitOptions.None);
            var missing = new List<string>();
            var byName = new Dictionary<string, RemoteFile>(StringComparer.Ordinal);
            foreach (string line in parts[0].Split('\n').Where(l => l.Length > 0))
            {
                string[] f = line.Split('\t');
                string pattern = patterns[int.Parse(f[1])];
                if (f[0] == "M") { missing.Add(pattern); continue; }
                long size = long.Parse(f[2]);
                string path = f[0] == "D" ? f[4] : f[3];
                // A matched file comes back under its own name; a matched directory whole, under its name.
                string name = f[0] == "D" ? LastSegment(f[3]) + "/" + RelativeTo(f[3], f[4]) : LastSegment(path);
                if (byName.TryGetValue(name, out var other) && other.Path != path)
                    throw new OpenBsdBuildException("ArtifactNameCollision", FailureKind.InvalidArgument,
                        $"Two artifacts would both be saved as '{name}': '{other.Path}' and '{path}'.", pattern,
                        "Name the directory that holds them instead, so they keep their paths, or narrow the patterns.");
                byName[name] = new RemoteFile
                {
                    Path = path, Name = name, Size = size,
                    RemotePath = path.StartsWith("/", StringComparison.Ordinal) ? path : workingDirectory.TrimEnd('/') + "/" + path,
                };
            }
            if (missing.Count > 0)
            {
                string top = parts.Length > 1 ? string.Join(", ", parts[1].Split('\n').Where(l => l.Length > 0).Take(30)) : "";
                throw new OpenBsdBuildException("ArtifactNotFound", FailureKind.ObjectNotFound,
                    $"No file in the guest matches the artifact pattern{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(m => "'" + m + "'"))} " +
                    $"(relative to {workingDirectory}). The working directory contains: {(top.Length == 0 ? "nothing" : top)}.",
                    missing[0], "Fix -Artifact: patterns are relative to the working directory unless absolute.");
            }
            return byName.Values.ToList();
        }

        private static async Task<Dictionary<string, string>> HashAsync(IHostShell guest, string workingDirectory, List<RemoteFile> files, CancellationToken cancellationToken)
        {
            // At the lowest priority: on a guest's one busy vCPU the hash then takes the time the transfer leaves idle,
            // instead of slowing it (50 MB from a TCG guest: 11.5 MB/s with the hash niced, the same as no hash; 8.8 MB/s
            // beside it, docs/transfers.md). renice: OpenBSD's and busybox's take POSIX's -n; without one, no change.
            string script = $"cd {ShellQuote.Quote(workingDirectory)} || exit 3; renice -n 19 -p $$ >/dev/null 2>&1; " + Checksums.ListingOfStdinCommand();
            var stdout = new StringBuilder();
            var stderr = new StringBuilder();
            int exit = await guest.StreamAsync(script, NameList(files), line => stdout.Append(line).Append('\n'), line => { lock (stderr) stderr.AppendLine(line); },
                cancellationToken).ConfigureAwait(false);
            var hashes = Checksums.ParseListing(stdout.ToString());
            var missing = files.FirstOrDefault(f => !hashes.ContainsKey(f.Path));
            if (exit != 0 || missing != null)
                throw new OpenBsdBuildException("ArtifactHashFailed", FailureKind.ReadError,
                    $"The guest could not checksum {(missing == null ? "the artifacts" : "'" + missing.Path + "'")} (exit {exit}): {stderr.ToString().Trim()}", workingDirectory,
                    "Make sure the artifacts are readable by the build user.");
            return hashes;
        }

        /// <summary>The paths as the guest's xargs -0 reads them: never on a command line, whatever their number or names.</summary>
        private static Stream NameList(List<RemoteFile> files) =>
            new MemoryStream(Encoding.UTF8.GetBytes(string.Concat(files.Select(f => f.Path + "\0"))));

        /// <summary>
        /// All files in one stream: the guest concatenates them (xargs batches the names into few cat
        /// processes; a fork is dear on an emulated CPU) and this side cuts the stream at the sizes the
        /// guest listed, writing each to "name.partial" while hashing it. One exec channel on the build's
        /// own session: no SFTP connection, no request round trips per chunk or per file. A file that changed
        /// size meanwhile shifts what follows, which the hashes then catch.
        /// </summary>
        private static async Task DownloadAllAsync(IHostShell guest, string workingDirectory, List<RemoteFile> files, string destination,
            List<(RemoteFile file, string partial, string local, string hash, long written)> downloaded, Action<RemoteFile, long> progress,
            CancellationToken cancellationToken)
        {
            var errors = new StringBuilder();
            long surplus = 0;
            int exit = await guest.ReadAsync($"cd {ShellQuote.Quote(workingDirectory)} && xargs -0 cat --", NameList(files), stdout =>
            {
                var buffer = new byte[1 << 20];
                long done = 0;
                foreach (var file in files)
                {
                    string local = Path.Combine(destination, file.Name.Replace('/', Path.DirectorySeparatorChar));
                    string partial = local + ".partial";
                    Directory.CreateDirectory(Path.GetDirectoryName(local)!);
                    using var output = new HashingWriteStream(new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20));
                    downloaded.Add((file, partial, local, "", 0)); // deleted on failure even if the copy below throws
                    OperationTrace.Download(guest.Description, "get", file.RemotePath, output);
                    for (long left = file.Size; left > 0;)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        int read = stdout.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                        if (read == 0) break; // short: the size check reports it
                        output.Write(buffer, 0, read);
                        left -= read;
                        done += read;
                        progress(file, done);
                    }
                    output.Flush();
                    downloaded[downloaded.Count - 1] = (file, partial, local, output.HexDigest(), output.Written);
                }
                int extra;
                while ((extra = stdout.Read(buffer, 0, buffer.Length)) > 0) surplus += extra;
                return Task.CompletedTask;
            }, line => { lock (errors) errors.AppendLine(line); }, cancellationToken).ConfigureAwait(false);
            if (exit != 0)
                throw new OpenBsdBuildException("ArtifactDownloadFailed", FailureKind.ReadError,
                    $"The guest could not send the artifacts (exit {exit}): {errors.ToString().Trim()}", workingDirectory,
                    "Make sure the artifacts are readable by the build user and are not removed while they are fetched.");
            if (surplus > 0)
                throw new OpenBsdBuildException("ArtifactChecksumMismatch", FailureKind.InvalidData,
                    $"The guest sent {surplus} bytes more than the artifacts' listed sizes: a file grew while it was fetched. Every file of this fetch was deleted.",
                    workingDirectory, "Make sure nothing writes to the artifacts after the build command ends, then run the build again.");
        }

        /// <summary>list-artifacts.sh takes the patterns one per line.</summary>
        private static string RequireOneLine(string pattern) => pattern.IndexOf('\n') < 0 && pattern.Length > 0 ? pattern
            : throw new OpenBsdBuildException("InvalidArtifactPattern", FailureKind.InvalidArgument,
                "An artifact pattern is empty or spans lines.", pattern, "Pass one path or pattern per -Artifact entry.");

        private static string LastSegment(string path) => path.TrimEnd('/').Split('/').Last();

        private static string RelativeTo(string directory, string file)
        {
            string prefix = directory.TrimEnd('/') + "/";
            return file.StartsWith(prefix, StringComparison.Ordinal) ? file.Substring(prefix.Length) : LastSegment(file);
        }

        private static void TryDelete(string path)
        {
            try { if (File.Exists(path)) File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        private static string Mb(long bytes) => (bytes / 1048576.0).ToString("0.0");
        private static int Percent(long done, long total) => total == 0 ? 100 : (int)Math.Min(100, done * 100 / total);
    }
}
