using System.Collections.Generic;
using System.Linq;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>A partition as the automatic allocation would size it.</summary>
    public sealed class DisklabelAllocation
    {
        public DisklabelAllocation(string mountPoint, long bytes)
        {
            MountPoint = mountPoint;
            Bytes = bytes;
        }

        public string MountPoint { get; }
        public long Bytes { get; }

        public override string ToString() => $"{MountPoint} {DisklabelTemplate.FormatHuman(Bytes)}";
    }

    /// <summary>
    /// A model of disklabel's automatic allocation (sbin/disklabel/editor.c allocate_space(), 1.422),
    /// used to check layouts before a guest is booted: every entry first gets its minimum; the space
    /// left over is shared by percentage, in whole 1% steps of 512-byte blocks, up to each maximum;
    /// the last entry takes all that remains. Alignment to filesystem blocks is ignored (a few KB).
    /// </summary>
    public static class DisklabelAutoAllocation
    {
        private const long Block = 512;

        /// <summary>
        /// The installer's own big table, alloc_big in editor.c 1.422 (docs/openbsd-notes.md). Used only when its
        /// minimums (about 11.3 GB) fit; swap and /var also grow with physical memory.
        /// </summary>
        public static IReadOnlyList<DisklabelTemplateEntry> DefaultBigTable { get; } = new[]
        {
            new DisklabelTemplateEntry("/", 150 * DisklabelTemplate.MiB, 1 * DisklabelTemplate.GiB, 5),
            new DisklabelTemplateEntry("swap", 80 * DisklabelTemplate.MiB, 256 * DisklabelTemplate.MiB, 10),
            new DisklabelTemplateEntry("/tmp", 120 * DisklabelTemplate.MiB, 4 * DisklabelTemplate.GiB, 8),
            new DisklabelTemplateEntry("/var", 80 * DisklabelTemplate.MiB, 4 * DisklabelTemplate.GiB, 13),
            new DisklabelTemplateEntry("/usr", 1536 * DisklabelTemplate.MiB, 30 * DisklabelTemplate.GiB, 10),
            new DisklabelTemplateEntry("/usr/X11R6", 384 * DisklabelTemplate.MiB, 1 * DisklabelTemplate.GiB, 3),
            new DisklabelTemplateEntry("/usr/local", 1 * DisklabelTemplate.GiB, 20 * DisklabelTemplate.GiB, 15),
            new DisklabelTemplateEntry("/usr/src", 2 * DisklabelTemplate.GiB, 5 * DisklabelTemplate.GiB, 2),
            new DisklabelTemplateEntry("/usr/obj", 5 * DisklabelTemplate.GiB, 6 * DisklabelTemplate.GiB, 4),
            new DisklabelTemplateEntry("/home", 1 * DisklabelTemplate.GiB, 300 * DisklabelTemplate.GiB, 0),
        };

        /// <summary>
        /// Sizes for <paramref name="entries"/> in an OpenBSD area of <paramref name="areaBytes"/>, or
        /// null when the minimums do not fit (disklabel then fails, or tries its next smaller table).
        /// </summary>
        /// <param name="growWithMemory">
        /// allocate_physmemincr(): only for the built-in big table — swap max += RAM (swap = 2×RAM
        /// under 256M RAM) and /var max += 2×RAM. Templates get no such adjustment.
        /// </param>
        public static IReadOnlyList<DisklabelAllocation>? Allocate(IReadOnlyList<DisklabelTemplateEntry> entries,
            long areaBytes, long physicalMemory, bool growWithMemory)
        {
            var mins = new long[entries.Count];
            var maxs = new long[entries.Count];
            var extra = areaBytes / Block;
            for (var i = 0; i < entries.Count; i++)
            {
                mins[i] = entries[i].MinBytes / Block;
                maxs[i] = entries[i].MaxBytes == DisklabelTemplateEntry.Unlimited ? long.MaxValue : entries[i].MaxBytes / Block;
                if (growWithMemory && physicalMemory > 0)
                {
                    var memBlocks = physicalMemory / Block;
                    if (entries[i].MountPoint == "swap")
                    {
                        if (memBlocks < 256 * DisklabelTemplate.MiB / Block) mins[i] = maxs[i] = 2 * memBlocks;
                        else maxs[i] += memBlocks;
                    }
                    else if (entries[i].MountPoint == "/var")
                    {
                        maxs[i] += 2 * memBlocks;
                    }
                }
                if (extra < mins[i]) return null;
                extra -= mins[i];
            }

            var result = new List<DisklabelAllocation>();
            var free = areaBytes / Block;
            for (var i = 0; i < entries.Count; i++)
            {
                var last = i == entries.Count - 1;
                var cap = last ? mins[i] + extra : mins[i] + extra / 100 * entries[i].Percent;
                var size = System.Math.Min(System.Math.Min(cap, maxs[i]), free);
                free -= size;
                result.Add(new DisklabelAllocation(entries[i].MountPoint, size * Block));
            }
            return result;
        }

        /// <summary>The sum of the minimums of a table in bytes.</summary>
        public static long MinimumBytes(IEnumerable<DisklabelTemplateEntry> entries) => entries.Sum(e => e.MinBytes);
    }
}
