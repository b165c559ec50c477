using System;
using System.IO;
using System.Text;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Harness;
using OpenBsdBuild.Tests.Images;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>
    /// One New-OpenBsdImage -Target Ec2 -Kernel run per test process, on the fixture's installer
    /// (tests/fixtures/guest-image), shared by the tests that need an EC2 image with the first-boot agent:
    /// Ec2AgentTests boots it in QEMU against an IMDSv2 emulator, the native end-to-end test registers it as an
    /// AMI. Nothing may boot <see cref="Built.Path"/> itself (an overlay or a copy keeps it pristine). The
    /// image is made for this process's code, so it is never cached across runs; it is deleted at exit.
    /// </summary>
    public static class Ec2TestImage
    {
        public const string BuildUser = "builder";
        private static readonly Lazy<Built> Image = new Lazy<Built>(Build);
        private static readonly Lazy<string> Small = new Lazy<string>(MakeSmall);

        public sealed class Built
        {
            public string Directory = "";
            /// <summary>The compressed qcow2 New-OpenBsdImage wrote, with its sidecar.</summary>
            public string Path = "";
            /// <summary>The image's own build user key (New-OpenBsdImage -UserKey), private half.</summary>
            public string ImageKey = "";
            public string KernelSha256 = "";
            /// <summary>What New-OpenBsdImage wrote to the pipeline (output, verbose, errors).</summary>
            public PsResult Made = null!;
        }

        public static Built Get() => Image.Value;

        /// <summary>
        /// The same system on a 128 MiB disk: New-OpenBsdImage's disk is at least the disklabel template's
        /// minimum (about 10 GB), whose raw form Register-OpenBsdAmi would upload in full; the fixture's
        /// installed system lies within the first 99 MiB (its installer copies an MBR disk of that size).
        /// The sidecar is the original's with the new size and SHA-256.
        /// </summary>
        public static string SmallCopy() => Small.Value;

        private static Built Build()
        {
            // The test host may be ended before a ProcessExit handler finishes deleting: each process's folder
            // is named by its id, and a later run removes those of processes that are gone.
            SweepLeftovers();
            string dir = System.IO.Directory.CreateTempSubdirectory($"{Prefix}{Environment.ProcessId}-").FullName;
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try { System.IO.Directory.Delete(dir, true); } catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
            };
            var keys = new SignifyTestKeys(name: "openbsd-78-base");
            var (media, signifyKey) = Media(dir, keys);
            string imageKey = System.IO.Path.Combine(dir, "builder");
            Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -C builder@test -f '{imageKey}'");
            string kernel = FakeKernel.Write(System.IO.Path.Combine(dir, "obj", "bsd"), FakeKernel.Arm64, size: 64 * 1024);
            string output = System.IO.Path.Combine(dir, "out", "openbsd-7.8-arm64-ec2.qcow2");

            using var ps = new PsSession();
            var made = ps.Run($"$host_ = Connect-MetalHost -Local -StateDirectory '{System.IO.Path.Combine(dir, "state")}'; " +
                              $"try {{ $host_ | New-OpenBsdImage 7.8 -InstallMedia '{media}' -SignifyPublicKey '{signifyKey}' -Kernel '{kernel}' -Target Ec2 " +
                              $"-BuildUserKey '{imageKey}.pub' -BuildUser {BuildUser} -Output '{output}' -Memory 512MB -CpuCount 1 -Verbose }} " +
                              "finally { $host_ | Remove-MetalHost -Confirm:$false }");
            return new Built
            {
                Directory = dir,
                Path = output,
                ImageKey = imageKey,
                KernelSha256 = OpenBsdBuild.Builds.Checksums.Sha256File(kernel),
                Made = made,
            };
        }

        private const string Prefix = "obb-ec2image-";

        private static void SweepLeftovers()
        {
            foreach (string folder in System.IO.Directory.GetDirectories(System.IO.Path.GetTempPath(), Prefix + "*"))
            {
                string[] parts = System.IO.Path.GetFileName(folder).Substring(Prefix.Length).Split('-');
                if (!int.TryParse(parts[0], out int pid) || System.IO.Directory.Exists($"/proc/{pid}")) continue;
                try { System.IO.Directory.Delete(folder, true); } catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
            }
        }

        /// <summary>The fixture's installer as install78.img, with a SHA256.sig signed by the test release key.</summary>
        private static (string Media, string PublicKey) Media(string root, SignifyTestKeys keys)
        {
            string dir = System.IO.Path.Combine(root, "media");
            System.IO.Directory.CreateDirectory(dir);
            string media = System.IO.Path.Combine(dir, "install78.img");
            File.CreateSymbolicLink(media, TestGuestImage.Get().InstallMedia);
            var list = new StringBuilder();
            foreach (string set in new[] { "bsd", "bsd.mp", "bsd.rd", "base78.tgz", "comp78.tgz", "man78.tgz", "game78.tgz", "xbase78.tgz", "xshare78.tgz", "xfont78.tgz", "xserv78.tgz" })
                list.Append($"SHA256 ({set}) = {SignifyTestKeys.Sha256Hex(Encoding.UTF8.GetBytes(set))}\n");
            list.Append($"SHA256 (install78.img) = {OpenBsdBuild.Builds.Checksums.Sha256File(media)}\n");
            File.WriteAllBytes(System.IO.Path.Combine(dir, "SHA256.sig"), keys.SignEmbedded(list.ToString()));
            string key = System.IO.Path.Combine(root, "openbsd-78-base.pub");
            File.WriteAllText(key, keys.PublicKey.ToFileText());
            return (media, key);
        }

        private static string MakeSmall()
        {
            var built = Get();
            if (built.Made.HadErrors || !File.Exists(built.Path))
                throw new InvalidOperationException("New-OpenBsdImage -Target Ec2 failed:\n" + built.Made.Describe());
            string dir = System.IO.Path.Combine(built.Directory, "small");
            System.IO.Directory.CreateDirectory(dir);
            string raw = System.IO.Path.Combine(dir, "disk.raw");
            string small = System.IO.Path.Combine(dir, System.IO.Path.GetFileName(built.Path));
            Tools.Sh($"qemu-img convert -f qcow2 -O raw '{built.Path}' '{raw}' && truncate -s 128M '{raw}' && " +
                     $"qemu-img convert -c -f raw -O qcow2 '{raw}' '{small}' && rm -f '{raw}'");
            var metadata = ImageMetadata.Parse(File.ReadAllText(built.Path + ImageMetadata.SidecarSuffix), built.Path);
            metadata.DiskSize = 128L << 20;
            metadata.Size = new FileInfo(small).Length;
            metadata.Sha256 = OpenBsdBuild.Builds.Checksums.Sha256File(small);
            File.WriteAllText(small + ImageMetadata.SidecarSuffix, metadata.ToJson());
            return small;
        }
    }
}
