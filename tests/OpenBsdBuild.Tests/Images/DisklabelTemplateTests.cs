using System.Linq;
using System.Text.RegularExpressions;
using Xunit;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Installer;

namespace OpenBsdBuild.Tests.Images
{
    public class DisklabelTemplateTests
    {
        private const long GiB = DisklabelTemplate.GiB;
        private const long MiB = DisklabelTemplate.MiB;

        private static double Gb(long bytes) => bytes / (double)GiB;

        [Fact]
        public void DefaultTable_MinimumsAreAbout11Point3GB()
        {
            // docs/openbsd-notes.md: the big table is used only if its minimums (≈11.3 GB) fit.
            Assert.InRange(Gb(DisklabelAutoAllocation.MinimumBytes(DisklabelAutoAllocation.DefaultBigTable)), 11.2, 11.4);
        }

        [Fact]
        public void DefaultTable_On20GB_MatchesTheLayoutComputedByHand()
        {
            // editor.c allocate_space() on a 20 GB disk, computed by hand: / ≈0.6G, swap ≈0.95G, /tmp ≈0.8G, /var ≈1.2G, /usr ≈2.3G,
            // X11R6 ≈0.65G, /usr/local ≈2.3G, /usr/src ≈2.2G, /usr/obj ≈5.3G, /home ≈3.6G (with 4 GB of memory).
            var layout = DisklabelAutoAllocation.Allocate(DisklabelAutoAllocation.DefaultBigTable,
                20 * GiB - DisklabelTemplate.BootAreaBytes, physicalMemory: 4 * GiB, growWithMemory: true)!;
            var sizes = layout.ToDictionary(a => a.MountPoint, a => Gb(a.Bytes));
            var facts = new (string Mount, double Size)[]
            {
                ("/", 0.6), ("swap", 0.95), ("/tmp", 0.8), ("/var", 1.2), ("/usr", 2.3), ("/usr/X11R6", 0.65),
                ("/usr/local", 2.3), ("/usr/src", 2.2), ("/usr/obj", 5.3), ("/home", 3.6),
            };
            foreach (var (mount, size) in facts)
                Assert.InRange(sizes[mount], size - 0.1, size + 0.1);
            Assert.InRange(layout.Sum(a => a.Bytes), 20 * GiB - DisklabelTemplate.BootAreaBytes - MiB, 20 * GiB);
        }

        [Fact]
        public void TheOpenBsdAreaStartsAfterTheAcpiBootPartition()
        {
            // arm64 install.md md_prep_fdisk: "openbsd,acpi" firmware gets a 532480-sector boot partition at sector 32768.
            Assert.Equal((32768L + 532480L) * 512, DisklabelTemplate.BootAreaBytes);
            var template = DisklabelTemplate.RustBuild;
            Assert.Equal(template.MinimumBytes + 276 * MiB, template.MinimumDiskBytes);
            // A disk the old 32 MiB estimate let through; disklabel would find the minimums do not fit.
            var ex = Assert.Throws<OpenBsdBuildException>(() => template.EnsureFits(template.MinimumBytes + 100 * MiB));
            Assert.Equal("InvalidParameter.DiskSize", ex.ErrorId);
        }

        [Fact]
        public void DefaultTable_SmallMemoryFixesSwapAtTwiceRam()
        {
            var layout = DisklabelAutoAllocation.Allocate(DisklabelAutoAllocation.DefaultBigTable, 20 * GiB, 128 * MiB, true)!;
            Assert.Equal(256 * MiB, layout.Single(a => a.MountPoint == "swap").Bytes);
        }

        [Fact]
        public void RustBuild_On32GB_IsRoomierWhereTheBuildNeedsIt()
        {
            var rust = DisklabelTemplate.ForRustBuild().Allocate(DisklabelTemplate.DefaultDiskSize).ToDictionary(a => a.MountPoint, a => a.Bytes);
            var stock = DisklabelAutoAllocation.Allocate(DisklabelAutoAllocation.DefaultBigTable,
                DisklabelTemplate.DefaultDiskSize - DisklabelTemplate.BootAreaBytes, 4 * GiB, true)!.ToDictionary(a => a.MountPoint, a => a.Bytes);

            foreach (var mount in new[] { "/usr/obj", "/usr/local", "/tmp" })
                Assert.True(rust[mount] > stock[mount], $"{mount}: {Gb(rust[mount]):0.0}G is not more than the default {Gb(stock[mount]):0.0}G");
            Assert.True(Gb(rust["/usr/obj"]) >= 10, $"/usr/obj is {Gb(rust["/usr/obj"]):0.0}G");
            Assert.True(Gb(rust["/usr/local"]) >= 7.5, $"/usr/local is {Gb(rust["/usr/local"]):0.0}G");
            Assert.True(Gb(rust["/tmp"]) >= 4, $"/tmp is {Gb(rust["/tmp"]):0.0}G");
            Assert.InRange(rust.Values.Sum(), DisklabelTemplate.DefaultDiskSize - DisklabelTemplate.BootAreaBytes - MiB,
                DisklabelTemplate.DefaultDiskSize - DisklabelTemplate.BootAreaBytes);
        }

        [Fact]
        public void RustBuild_GrowsWithTheDisk()
        {
            var small = DisklabelTemplate.RustBuild.Allocate(32 * GiB).Single(a => a.MountPoint == "/usr/obj").Bytes;
            var big = DisklabelTemplate.RustBuild.Allocate(64 * GiB).Single(a => a.MountPoint == "/usr/obj").Bytes;
            Assert.True(big > small + 10 * GiB, $"{Gb(small):0.0}G on 32G, {Gb(big):0.0}G on 64G");
        }

        [Fact]
        public void ToText_IsDisklabelTemplateSyntax()
        {
            var lines = DisklabelTemplate.RustBuild.ToText().TrimEnd('\n').Split('\n');
            // parse_autotable(): mount point ('/...' or swap), size or range with a unit, optional N%.
            Assert.All(lines, l => Assert.Matches(@"^(/\S*|swap) [0-9]+[KMGT](-([0-9]+[KMGT]|\*))?( [0-9]+%)?$", l));
            Assert.StartsWith("/ ", lines[0]);
            Assert.StartsWith("swap ", lines[1]);
            Assert.Equal("/usr/obj 6G-* 40%", lines[^1]);
            Assert.True(lines.Sum(l => int.Parse(Regex.Match(l, @"([0-9]+)%$").Groups[1].Value)) <= 100);
        }

        [Fact]
        public void Parse_RoundTrips()
        {
            var text = DisklabelTemplate.RustBuild.ToText();
            Assert.Equal(text, DisklabelTemplate.Parse(text).ToText());
            var parsed = DisklabelTemplate.Parse("/ 150m-1g 5%\nswap 80M\n/home 1-2G\n/usr/obj 2G-*\n");
            Assert.Equal(150 * MiB, parsed.Entries[0].MinBytes);
            Assert.Equal(GiB, parsed.Entries[0].MaxBytes);
            Assert.Equal(80 * MiB, parsed.Entries[1].MaxBytes);
            Assert.Equal(GiB, parsed.Entries[2].MinBytes); // the unit is shared, as in parse_sizerange()
            Assert.Equal(DisklabelTemplateEntry.Unlimited, parsed.Entries[3].MaxBytes);
        }

        [Theory]
        [InlineData("/ 1 5%\n")]                 // no unit
        [InlineData("/ 1G 60%\n/usr 1G 50%\n")]   // more than 100%
        [InlineData("swap 1G\n/ 1G\n")]          // '/' must come first
        [InlineData("/ 2G-1G\n")]                 // min > max
        public void Parse_RejectsWhatDisklabelRejects(string text)
        {
            var ex = Assert.Throws<OpenBsdBuildException>(() => DisklabelTemplate.Parse(text));
            Assert.Equal("DisklabelTemplateInvalid", ex.ErrorId);
        }

        [Fact]
        public void ForRustBuild_TooSmallDisk_NamesDiskSizeAndTheMinimum()
        {
            var ex = Assert.Throws<OpenBsdBuildException>(() => DisklabelTemplate.ForRustBuild(20 * GiB));
            Assert.Equal("InvalidParameter.DiskSize", ex.ErrorId);
            Assert.Equal(FailureKind.InvalidArgument, ex.Kind);
            Assert.Contains("DiskSize", ex.Message);
            Assert.Contains("21.3 GiB", ex.Message); // 21 GiB of minimums and the 276 MiB before the OpenBSD area
            Assert.Contains(DisklabelTemplate.RustBuild.MinimumDiskBytes.ToString(), ex.Message);
            Assert.Contains("22GB", ex.RecommendedAction);
            // Exactly the minimum fits.
            DisklabelTemplate.RustBuild.EnsureFits(DisklabelTemplate.RustBuild.MinimumDiskBytes);
        }
    }
}
