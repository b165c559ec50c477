using System;
using System.IO;
using System.Linq;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>Artifacts come home as one stream from the real guest (busybox xargs and cat), cut and verified here.</summary>
    [Collection(SharedGuestCollection.Name)]
    public class GuestTransferTests : IDisposable
    {
        private readonly PsSession _ps;
        private readonly string _dest = Directory.CreateTempSubdirectory("obb-xfer-").FullName;

        public GuestTransferTests(SharedGuest shared) => _ps = shared.NewSession();

        [Fact]
        public void Many_files_with_awkward_names_and_an_empty_one_arrive_byte_for_byte()
        {
            // Names a shell or xargs could split or take for options; sizes that straddle the 1 MB copy buffer.
            var r = _ps.Run("$guest | Invoke-GuestBuild -WorkingDirectory /usr/obj/xfer -Command '" +
                            "mkdir -p out/deep/er && cd out && head -c 1048577 /dev/urandom > big.bin && : > empty && printf dash > ./-n && " +
                            "printf space > \"with space\" && printf quote > \"it''s\" && for i in $(seq 1 300); do echo $i > deep/er/f$i; done' " +
                            $"-Artifact out -Destination '{_dest}'");
            Assert.False(r.HadErrors, r.Describe());
            var artifacts = r.Single<GuestBuildResult>().Artifacts;
            Assert.Equal(305, artifacts.Count);
            Assert.Equal(1048577, new FileInfo(Path.Combine(_dest, "out", "big.bin")).Length);
            Assert.Equal(0, new FileInfo(Path.Combine(_dest, "out", "empty")).Length);
            Assert.Equal("dash", File.ReadAllText(Path.Combine(_dest, "out", "-n")));
            Assert.Equal("space", File.ReadAllText(Path.Combine(_dest, "out", "with space")));
            Assert.Equal("quote", File.ReadAllText(Path.Combine(_dest, "out", "it's")));
            Assert.Equal("300\n", File.ReadAllText(Path.Combine(_dest, "out", "deep", "er", "f300")));
            foreach (var a in artifacts) Assert.Equal(a.Sha256, OpenBsdBuild.Builds.Checksums.Sha256File(a.Path));
            Assert.Empty(Directory.GetFiles(_dest, "*.partial", SearchOption.AllDirectories));
        }

        [Fact]
        public void Incompressible_sources_go_as_a_plain_tar_and_arrive_intact()
        {
            string src = Path.Combine(_dest, "src");
            Directory.CreateDirectory(src);
            var blob = new byte[3 << 20];
            new Random(17).NextBytes(blob);
            File.WriteAllBytes(Path.Combine(src, "blob.bin"), blob);
            var r = _ps.Run($"$guest | Invoke-GuestBuild -Path '{src}' -WorkingDirectory /usr/obj/xfer-up -Command 'sha256sum blob.bin' -Destination '{_dest}/o' -Verbose");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains(r.Verbose, v => v.Message.StartsWith("Compression: none"));
            Assert.Contains(r.Information, i => i.MessageData.ToString()!.StartsWith(OpenBsdBuild.Builds.Checksums.Sha256File(Path.Combine(src, "blob.bin")) + " "));
        }

        public void Dispose()
        {
            _ps.Dispose();
            Directory.Delete(_dest, true);
        }
    }
}
