using System;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>
    /// The arm64 test guest (tests/fixtures/guest-image), built once and cached by a hash of its
    /// recipe, with a metadata sidecar like a golden image's: build user and pinned host key.
    /// </summary>
    public static class TestGuestImage
    {
        private static readonly Lazy<Built> Image = new Lazy<Built>(Build);

        public sealed class Built
        {
            public string Directory = "";
            /// <summary>The image with its sidecar (host key pinned by metadata).</summary>
            public string Path = "";
            /// <summary>The same image reached through a folder without the sidecar.</summary>
            public string PathWithoutMetadata = "";
            public string KeyFile = "";
            /// <summary>Pretend OpenBSD install media: an installer that speaks install.sub's questions on the serial console (raw).</summary>
            public string InstallMedia = "";
            public string HostKeyFingerprint = "";
        }

        public static Built Get() => Image.Value;

        private static Built Build()
        {
            Tools.Require("qemu-system-aarch64", "qemu-img", "sfdisk", "mkfs.vfat", "mcopy", "cpio", "dropbearconvert", "ssh-keygen");
            string recipe = System.IO.Path.Combine(Repo.Root, "tests", "fixtures", "guest-image");
            string hash = RecipeHash(recipe);
            string cacheRoot = Environment.GetEnvironmentVariable("OPENBSDBUILD_TEST_CACHE")
                               ?? System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "openbsdbuild-tests");
            string dir = System.IO.Path.Combine(cacheRoot, "guest-" + hash);
            // .ci/test runs this suite beside the Pester suite, which caches the same image: whoever comes first
            // builds it while the other waits on the lock, so neither replaces a folder the other is using.
            System.IO.Directory.CreateDirectory(cacheRoot);
            using (CacheLock(dir + ".lock"))
            {
                if (!File.Exists(System.IO.Path.Combine(dir, ".complete")))
                {
                    string work = dir + ".tmp-" + Environment.ProcessId;
                    System.IO.Directory.CreateDirectory(work);
                    Tools.Sh($"bash {recipe}/build-guest-image.sh {work} > {work}/build.log 2>&1 || {{ tail -n 40 {work}/build.log; exit 1; }}", timeoutMs: 1_200_000);
                    File.WriteAllText(System.IO.Path.Combine(work, ".complete"), DateTime.UtcNow.ToString("o"));
                    if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, true);
                    System.IO.Directory.Move(work, dir);
                }
            }

            var built = new Built
            {
                Directory = dir,
                Path = System.IO.Path.Combine(dir, "guest.qcow2"),
                KeyFile = System.IO.Path.Combine(dir, "id_ed25519"),
                InstallMedia = System.IO.Path.Combine(dir, "install-media.img"),
                HostKeyFingerprint = File.ReadAllText(System.IO.Path.Combine(dir, "host_key.fingerprint")).Trim(),
            };
            var meta = new ImageMetadata
            {
                Name = "openbsdbuild-test-guest",
                OperatingSystem = "TestGuest",
                Version = hash.Substring(0, 8),
                Architecture = "arm64",
                BuildUser = "build",
                HostKeyFingerprints = { built.HostKeyFingerprint },
                Created = File.GetLastWriteTimeUtc(built.Path),
                Size = new FileInfo(built.Path).Length,
                Sha256 = OpenBsdBuild.Builds.Checksums.Sha256File(built.Path),
            };
            WriteIfChanged(built.Path + ImageMetadata.SidecarSuffix, meta.ToJson());
            string bare = System.IO.Path.Combine(dir, "no-metadata");
            System.IO.Directory.CreateDirectory(bare);
            built.PathWithoutMetadata = System.IO.Path.Combine(bare, "guest.qcow2");
            if (!File.Exists(built.PathWithoutMetadata)) File.CreateSymbolicLink(built.PathWithoutMetadata, built.Path);
            return built;
        }

        /// <summary>An exclusive lock on a file, held by another process until it disposes it (.NET takes flock for FileShare.None).</summary>
        private static FileStream CacheLock(string path)
        {
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (true)
            {
                try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
                catch (IOException) when (waited.Elapsed < TimeSpan.FromMinutes(25)) { System.Threading.Thread.Sleep(2000); }
            }
        }

        /// <summary>A guest started by the other suite reads the sidecar: replace it whole (rename), and only when it differs.</summary>
        private static void WriteIfChanged(string path, string text)
        {
            if (File.Exists(path) && File.ReadAllText(path) == text) return;
            string temp = path + ".tmp-" + Environment.ProcessId;
            File.WriteAllText(temp, text);
            File.Move(temp, path, overwrite: true);
        }

        private static string RecipeHash(string recipe)
        {
            using var sha = SHA256.Create();
            foreach (string f in System.IO.Directory.GetFiles(recipe, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal))
            {
                if (f.EndsWith(".md", StringComparison.Ordinal)) continue;
                byte[] name = System.Text.Encoding.UTF8.GetBytes(System.IO.Path.GetRelativePath(recipe, f));
                sha.TransformBlock(name, 0, name.Length, null, 0);
                byte[] body = File.ReadAllBytes(f);
                sha.TransformBlock(body, 0, body.Length, null, 0);
            }
            sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
            return Convert.ToHexString(sha.Hash!).ToLowerInvariant().Substring(0, 16);
        }
    }
}
