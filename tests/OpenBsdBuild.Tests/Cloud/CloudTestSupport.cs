using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>Keeps everything the engine reported, for assertions. Thread-safe like the real ones must be.</summary>
    internal sealed class RecordingReporter : IOperationReporter
    {
        private readonly object _gate = new object();
        private readonly Action<string, int>? _onProgress;

        public RecordingReporter(Action<string, int>? onProgress = null) => _onProgress = onProgress;

        public List<(string Status, int Percent)> ProgressUpdates { get; } = new List<(string, int)>();
        public List<string> Warnings { get; } = new List<string>();
        public List<string> VerboseMessages { get; } = new List<string>();
        public int DoneCount { get; private set; }

        public void Progress(string activity, string status, int percent = -1, int id = 0)
        {
            lock (_gate) ProgressUpdates.Add((status, percent));
            _onProgress?.Invoke(status, percent);
        }

        public void ProgressDone(string activity, int id = 0)
        {
            lock (_gate) DoneCount++;
        }

        public void Verbose(string message)
        {
            lock (_gate) VerboseMessages.Add(message);
        }

        public void Warning(string message)
        {
            lock (_gate) Warnings.Add(message);
        }

        public void Information(string message, params string[] tags) { }
    }

    /// <summary>A scratch folder with image files of known content.</summary>
    internal sealed class ScratchFolder : IDisposable
    {
        public ScratchFolder()
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "obb-cloud-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        /// <summary>Writes <paramref name="size"/> pseudo-random (incompressible, reproducible) bytes.</summary>
        public string WriteRandomFile(string name, long size, int seed = 42)
        {
            string path = System.IO.Path.Combine(Path, name);
            var random = new Random(seed);
            var buffer = new byte[1 << 20];
            using var stream = File.Create(path);
            for (long left = size; left > 0; left -= buffer.Length)
            {
                random.NextBytes(buffer);
                stream.Write(buffer, 0, (int)Math.Min(buffer.Length, left));
            }
            return path;
        }

        public string WriteText(string name, string text)
        {
            string path = System.IO.Path.Combine(Path, name);
            File.WriteAllText(path, text);
            return path;
        }

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
        }
    }

    internal static class TestImages
    {
        public static ImageMetadata Metadata(string version = "7.9", string architecture = "arm64", DateTime? created = null) =>
            new ImageMetadata
            {
                Name = $"openbsd-{version}-{architecture}",
                Version = version,
                Architecture = architecture,
                Sets = new List<string> { "bsd", "base79.tgz", "comp79.tgz" },
                Packages = new List<PackageVersion> { new PackageVersion { Name = "rust", Version = "1.86.0" } },
                BuildUser = "build",
                HostKeyFingerprints = new List<string> { "SHA256:Ljm1Vw3QkBmFvKq7kqoXDe0GzT1oA0sQ6V6N0v0r5xM" },
                DiskSize = 20L << 30,
                Created = created ?? new DateTime(2025, 10, 1, 12, 0, 0, DateTimeKind.Utc),
            };

        public static string Sha256Of(string path)
        {
            using var stream = File.OpenRead(path);
            return Sha256Of(stream);
        }

        public static string Sha256Of(Stream stream)
        {
            using var sha = SHA256.Create();
            return string.Concat(sha.ComputeHash(stream).Select(b => b.ToString("x2")));
        }
    }
}
