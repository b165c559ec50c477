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
            string script = ShellTemplate.Load("fetch-artifacts.sh").Render(new ShellInputs()
                .Set("OBB_WORK_DIR", workingDirectory).Set("OBB_PATTERNS", string.Join("\n", patterns.Select(RequireOneLine))));
            var fetch = new Fetch(guest.Description, workingDirectory, patterns, destination);
            string activity = $"Downloading artifacts from {guestName}";
            // A listing this side refuses (two files, one name) stops the command rather than letting it send everything.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            try
            {
                int exit;
                try
                {
                    exit = await guest.ReadAsync(script, null, stdout =>
                    {
                        fetch.Receive(stdout, (file, done, total) => reporter.Progress(activity, $"{file.Name} ({Mb(done)} of {Mb(total)} MB)", Percent(done, total)),
                            stop, cancellationToken);
                        return Task.CompletedTask;
                    }, fetch.GuestSaid, stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (fetch.Refusal != null && !cancellationToken.IsCancellationRequested)
                {
                    throw fetch.Refusal;
                }
                var artifacts = fetch.Verify(exit, guestName);
                // OpenBSD's own sha256(1) format, so `sha256 -C SHA256` checks the folder there.
                File.WriteAllText(Path.Combine(destination, "SHA256"),
                    string.Concat(artifacts.Select(a => Checksums.BsdLine(a.Name, a.Sha256) + "\n")));
                return artifacts;
            }
            finally
            {
                fetch.DeleteUnverified();
                reporter.ProgressDone(activity);
            }
        }

        /// <summary>
        /// One run of fetch-artifacts.sh as this side sees it: the guest's listing, then its files as one stream, which
        /// this side cuts at the listed sizes, writing each to "name.partial" while hashing it; the guest's own hashes
        /// arrive on stderr meanwhile. No second connection, no request round trips per chunk or per file. A file that
        /// changed size meanwhile shifts what follows, which the hashes then catch.
        /// </summary>
        private sealed class Fetch
        {
            private readonly string _guest;
            private readonly string _workingDirectory;
            private readonly IReadOnlyList<string> _patterns;
            private readonly string _destination;
            private readonly List<Download> _downloaded = new List<Download>();
            private readonly List<string> _stderr = new List<string>();
            private List<RemoteFile>? _files;
            private bool _sawData, _closed;
            private long _surplus;

            public Fetch(string guest, string workingDirectory, IReadOnlyList<string> patterns, string destination)
            {
                _guest = guest;
                _workingDirectory = workingDirectory;
                _patterns = patterns;
                _destination = destination;
            }

            /// <summary>What the listing ruled out (nothing matched, two files for one name): no file is fetched.</summary>
            public OpenBsdBuildException? Refusal { get; private set; }

            /// <summary>The guest's stderr: its hashes, and any error.</summary>
            public void GuestSaid(string line)
            {
                lock (_stderr) _stderr.Add(line);
            }

            /// <summary>The command's stdout: the listing, then (unless the listing is refused) the files, cut at their sizes.</summary>
            public void Receive(Stream stdout, Action<RemoteFile, long, long> progress, CancellationTokenSource stop, CancellationToken cancellationToken)
            {
                var input = new BufferedStream(stdout, 1 << 16);
                var listing = new List<string>();
                var top = new List<string>();
                string? line;
                bool inTop = false;
                while ((line = ReadLine(input)) != null)
                {
                    if (line == "@@data") { _sawData = true; break; }
                    if (line == "@@top") inTop = true;
                    else if (line.Length > 0) (inTop ? top : listing).Add(line);
                }
                try
                {
                    _files = Resolve(listing, inTop ? top : null);
                }
                catch (OpenBsdBuildException ex)
                {
                    Refusal = ex;
                    if (_sawData) stop.Cancel();
                    return;
                }
                if (!_sawData) return;
                Directory.CreateDirectory(_destination);
                try
                {
                    Cut(_files, input, progress, cancellationToken);
                }
                finally
                {
                    // A cancel does not wait for this thread: whichever of it and DeleteUnverified comes last deletes.
                    lock (_downloaded) if (_closed) DeletePartials();
                }
            }

            private void Cut(List<RemoteFile> files, Stream input, Action<RemoteFile, long, long> progress, CancellationToken cancellationToken)
            {
                var buffer = new byte[1 << 20];
                long done = 0, total = files.Sum(f => f.Size);
                foreach (var file in files)
                {
                    string local = Path.Combine(_destination, file.Name.Replace('/', Path.DirectorySeparatorChar));
                    var download = new Download(file, local);
                    lock (_downloaded)
                    {
                        if (_closed) throw new OperationCanceledException(cancellationToken);
                        _downloaded.Add(download); // deleted on failure even if the copy below throws
                    }
                    Directory.CreateDirectory(Path.GetDirectoryName(local)!);
                    using var output = new HashingWriteStream(new FileStream(download.Partial, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20));
                    OperationTrace.Download(_guest, "get", file.RemotePath, output);
                    for (long left = file.Size; left > 0;)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        int read = input.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
                        if (read == 0) break; // short: the size check reports it
                        output.Write(buffer, 0, read);
                        left -= read;
                        done += read;
                        progress(file, done, total);
                    }
                    output.Flush();
                    download.Hash = output.HexDigest();
                    download.Written = output.Written;
                }
                int extra;
                while ((extra = input.Read(buffer, 0, buffer.Length)) > 0) _surplus += extra;
            }

            /// <summary>After the command: every file whole and matching the guest's hash, or an error and nothing kept.</summary>
            public List<BuildArtifact> Verify(int exit, string guestName)
            {
                if (exit == 3)
                    throw new OpenBsdBuildException("WorkingDirectoryMissing", FailureKind.ObjectNotFound,
                        $"The working directory '{_workingDirectory}' does not exist in the guest.", _workingDirectory,
                        "Check -WorkingDirectory; artifacts are looked up relative to it.");
                if (Refusal != null) throw Refusal;
                var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
                var complaints = new List<string>();
                lock (_stderr)
                    foreach (string line in _stderr)
                        if (Checksums.TryParseLine(line, out string path, out string hex)) hashes[path] = hex;
                        else complaints.Add(line);
                string errors = string.Join(Environment.NewLine, complaints).Trim();
                if (exit != 0 || !_sawData)
                    throw new OpenBsdBuildException("ArtifactDownloadFailed", FailureKind.ReadError,
                        $"The guest could not send the artifacts (exit {exit}): {errors}", _workingDirectory,
                        "Make sure the artifacts are readable by the build user and are not removed while they are fetched.");
                if (_surplus > 0)
                    throw new OpenBsdBuildException("ArtifactChecksumMismatch", FailureKind.InvalidData,
                        $"The guest sent {_surplus} bytes more than the artifacts' listed sizes: a file grew while it was fetched. Every file of this fetch was deleted.",
                        _workingDirectory, "Make sure nothing writes to the artifacts after the build command ends, then run the build again.");
                var unhashed = _files!.FirstOrDefault(f => !hashes.ContainsKey(f.Path));
                if (unhashed != null)
                    throw new OpenBsdBuildException("ArtifactHashFailed", FailureKind.ReadError,
                        $"The guest could not checksum '{unhashed.Path}': {errors}", _workingDirectory,
                        "Make sure the artifacts are readable by the build user.");
                foreach (var d in _downloaded)
                {
                    string remoteHash = hashes[d.File.Path];
                    if (remoteHash != d.Hash || d.Written != d.File.Size)
                        throw new OpenBsdBuildException("ArtifactChecksumMismatch", FailureKind.InvalidData,
                            $"'{d.File.Path}' arrived damaged: the guest computed SHA-256 {remoteHash} ({d.File.Size} bytes), the download has {d.Hash} ({d.Written} bytes). " +
                            $"It{(_downloaded.Count > 1 ? " and the other files of this fetch" : "")} was deleted.",
                            d.File.Path, "Run the build again; if it repeats, the file may be changing while it is copied, or the link is corrupting data.");
                }
                // All verified before any takes its real name: a fetch is whole or leaves nothing.
                var artifacts = new List<BuildArtifact>();
                foreach (var d in _downloaded)
                {
                    if (File.Exists(d.Local)) File.Delete(d.Local);
                    File.Move(d.Partial, d.Local);
                    artifacts.Add(new BuildArtifact(d.File.Name, Path.GetFullPath(d.Local), d.Written, d.Hash, d.File.RemotePath, guestName));
                }
                _downloaded.Clear();
                return artifacts;
            }

            /// <summary>Unverified: nothing may look complete. No file is started after this.</summary>
            public void DeleteUnverified()
            {
                lock (_downloaded)
                {
                    _closed = true;
                    DeletePartials();
                }
            }

            private void DeletePartials()
            {
                foreach (var d in _downloaded) TryDelete(d.Partial);
            }

            private List<RemoteFile> Resolve(List<string> listing, List<string>? top)
            {
                var missing = new List<string>();
                var byName = new Dictionary<string, RemoteFile>(StringComparer.Ordinal);
                foreach (string line in listing)
                {
                    string[] f = line.Split('\t');
                    string pattern = _patterns[int.Parse(f[1])];
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
                        RemotePath = path.StartsWith("/", StringComparison.Ordinal) ? path : _workingDirectory.TrimEnd('/') + "/" + path,
                    };
                }
                if (missing.Count > 0)
                {
                    string entries = string.Join(", ", (top ?? new List<string>()).Take(30));
                    throw new OpenBsdBuildException("ArtifactNotFound", FailureKind.ObjectNotFound,
                        $"No file in the guest matches the artifact pattern{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(m => "'" + m + "'"))} " +
                        $"(relative to {_workingDirectory}). The working directory contains: {(entries.Length == 0 ? "nothing" : entries)}.",
                        missing[0], "Fix -Artifact: patterns are relative to the working directory unless absolute.");
                }
                return byName.Values.ToList();
            }
        }

        private sealed class Download
        {
            public Download(RemoteFile file, string local)
            {
                File = file;
                Local = local;
                Partial = local + ".partial";
            }

            public RemoteFile File { get; }
            public string Local { get; }
            public string Partial { get; }
            public string Hash { get; set; } = "";
            public long Written { get; set; }
        }

        /// <summary>One line of the listing, read byte by byte from the buffered stream so that the data after it stays unread.</summary>
        private static string? ReadLine(Stream input)
        {
            var bytes = new MemoryStream();
            int b;
            while ((b = input.ReadByte()) >= 0 && b != '\n') bytes.WriteByte((byte)b);
            return b < 0 && bytes.Length == 0 ? null : Encoding.UTF8.GetString(bytes.ToArray());
        }

        /// <summary>fetch-artifacts.sh takes the patterns one per line.</summary>
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
