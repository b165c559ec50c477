using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.S3;
using Xunit;
using OpenBsdBuild.Cloud.S3;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>
    /// A real s3rver (the npm package, pinned in tests/package.json) on a free loopback port with an
    /// empty "images" bucket, in a temporary data folder removed on dispose. Missing node or s3rver
    /// is a failure, never a skip: a skipped S3 suite reads as a passing one.
    /// </summary>
    public sealed class S3rverFixture : IDisposable
    {
        public const string Bucket = "images";
        public const string AccessKey = "S3RVER";
        public const string SecretKey = "S3RVER";
        public const string Region = "us-east-1";
        private const string InstallHint = "Run 'npm install --prefix tests' in the repository root (it installs s3rver 3.7.1).";
        private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

        private readonly Process _process;
        private readonly Queue<string> _log = new Queue<string>();

        public S3rverFixture() : this("127.0.0.1") { }

        /// <summary>An s3rver listening on <paramref name="address"/> (e.g. a veth address a network namespace can reach).</summary>
        internal S3rverFixture(string address)
        {
            string root = FindRepoRoot();
            string script = Path.Combine(root, "tests", "node_modules", "s3rver", "bin", "s3rver.js");
            if (!File.Exists(script)) throw Missing($"s3rver is not installed ({script} does not exist).");
            string node = FindOnPath("node") ?? throw Missing("node is not on PATH; s3rver needs Node.js.");

            DataDirectory = Path.Combine(Path.GetTempPath(), "s3rver-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(DataDirectory);
            Port = FreePort.OnLoopback();
            Endpoint = new Uri($"http://{address}:{Port}");

            var psi = new ProcessStartInfo(node)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = root,
            };
            foreach (var arg in new[] { script, "-d", DataDirectory, "-a", address, "-p", Port.ToString(), "--configure-bucket", Bucket })
                psi.ArgumentList.Add(arg);
            _process = new Process { StartInfo = psi };
            _process.OutputDataReceived += (_, e) => Remember(e.Data);
            _process.ErrorDataReceived += (_, e) => Remember(e.Data);
            _process.Start();
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();

            try
            {
                WaitUntilServing();
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public Uri Endpoint { get; }
        public int Port { get; }
        /// <summary>s3rver's storage: &lt;bucket&gt;/&lt;key&gt;._S3rver_object, pending uploads under &lt;bucket&gt;/._S3rver_uploads.</summary>
        public string DataDirectory { get; }

        public AWSCredentials Credentials => new BasicAWSCredentials(AccessKey, SecretKey);

        /// <summary>A client made the way the product makes one for an S3-compatible endpoint.</summary>
        public AmazonS3Client CreateClient() => S3ClientFactory.Create(Region, Credentials, Endpoint);

        /// <summary>The last lines s3rver printed, for failure messages.</summary>
        public string RecentLog
        {
            get { lock (_log) return string.Join(Environment.NewLine, _log); }
        }

        /// <summary>Multipart uploads s3rver still holds parts for (it implements neither ListMultipartUploads nor AbortMultipartUpload).</summary>
        public IReadOnlyList<string> PendingUploadIds(string bucket = Bucket)
        {
            string uploads = Path.Combine(DataDirectory, bucket, "._S3rver_uploads");
            if (!Directory.Exists(uploads)) return Array.Empty<string>();
            var ids = new List<string>();
            foreach (var dir in Directory.GetDirectories(uploads)) ids.Add(Path.GetFileName(dir));
            return ids;
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(10_000);
                }
            }
            catch (InvalidOperationException)
            {
                // Never started or already reaped.
            }
            _process.Dispose();
            try
            {
                if (Directory.Exists(DataDirectory)) Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A stray temp folder is not worth failing the run for.
            }
        }

        /// <summary>The folder holding OpenBsdBuild.sln, found by walking up from the test binaries.</summary>
        public static string FindRepoRoot()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "OpenBsdBuild.sln"))) return dir.FullName;
            throw new InvalidOperationException($"No OpenBsdBuild.sln above {AppContext.BaseDirectory}; run the tests from the repository.");
        }

        private static Exception Missing(string what)
        {
            bool ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
            return new InvalidOperationException(
                $"The S3 tests need s3rver: {what} {InstallHint}" + (ci ? " (CI=true: the CI job must run this step before the tests.)" : ""));
        }

        private void WaitUntilServing()
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow + StartTimeout;
            while (DateTime.UtcNow < deadline)
            {
                if (_process.HasExited)
                    throw new InvalidOperationException($"s3rver exited with code {_process.ExitCode} while starting:{Environment.NewLine}{RecentLog}");
                try
                {
                    // Anonymous GET of the service root: any HTTP answer (403 included) means it is serving.
                    using var response = http.GetAsync(Endpoint).GetAwaiter().GetResult();
                    if (Directory.Exists(Path.Combine(DataDirectory, Bucket))) return;
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }
                Thread.Sleep(100);
            }
            throw new InvalidOperationException($"s3rver did not answer on {Endpoint} within {StartTimeout.TotalSeconds:F0} s:{Environment.NewLine}{RecentLog}");
        }

        private void Remember(string? line)
        {
            if (line == null) return;
            lock (_log)
            {
                _log.Enqueue(line);
                while (_log.Count > 200) _log.Dequeue();
            }
        }

        private static string? FindOnPath(string name)
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            {
                if (dir.Length == 0) continue;
                foreach (var candidate in new[] { Path.Combine(dir, name), Path.Combine(dir, name + ".exe") })
                    if (File.Exists(candidate)) return candidate;
            }
            return null;
        }
    }

    /// <summary>One s3rver for every S3 test class; tests keep apart by using their own key prefixes.</summary>
    [CollectionDefinition(Name)]
    public sealed class S3rverCollection : ICollectionFixture<S3rverFixture>
    {
        public const string Name = "s3rver";
    }
}
