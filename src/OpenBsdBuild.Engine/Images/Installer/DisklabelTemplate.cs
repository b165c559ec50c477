using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>One line of a disklabel(8) autopartitioning template: "mountpoint min[-max] [percent%]".</summary>
    public sealed class DisklabelTemplateEntry
    {
        /// <summary>Marks an open-ended maximum ("min-*").</summary>
        public const long Unlimited = long.MaxValue;

        public DisklabelTemplateEntry(string mountPoint, long minBytes, long maxBytes, int percent)
        {
            MountPoint = mountPoint;
            MinBytes = minBytes;
            MaxBytes = maxBytes;
            Percent = percent;
        }

        /// <summary>An absolute path, or "swap".</summary>
        public string MountPoint { get; }
        public long MinBytes { get; }
        public long MaxBytes { get; }
        /// <summary>Share of the space left after all minimums (the last entry takes whatever is left).</summary>
        public int Percent { get; }

        public override string ToString()
        {
            var size = DisklabelTemplate.FormatSize(MinBytes);
            if (MaxBytes == Unlimited) size += "-*";
            else if (MaxBytes != MinBytes) size += "-" + DisklabelTemplate.FormatSize(MaxBytes);
            return Percent > 0 ? $"{MountPoint} {size} {Percent}%" : $"{MountPoint} {size}";
        }
    }

    /// <summary>
    /// A disklabel(8) autopartitioning template, served to autoinstall as
    /// "URL to autopartitioning template for disklabel" and applied with disklabel -T.
    /// Syntax from sbin/disklabel/editor.c parse_autotable()/parse_sizerange(): per line a mount
    /// point ("/..." or swap), a size or range with a k/m/g/t unit (1024-based, '*' = no maximum),
    /// and an optional percentage; percentages may add up to at most 100.
    /// </summary>
    public sealed class DisklabelTemplate
    {
        public const long MiB = 1024L * 1024;
        public const long GiB = 1024 * MiB;

        /// <summary>Default guest disk size for build images.</summary>
        public const long DefaultDiskSize = 32 * GiB;

        /// <summary>
        /// arm64 "Use (W)hole disk" puts an MSDOS boot partition at sector 32768, 532480 sectors (260 MB)
        /// long when the firmware is ACPI, as AAVMF is for every guest this module starts (32768 sectors
        /// only with a device tree; arm64 install.md md_prep_fdisk). The OpenBSD area starts after it,
        /// so 276 MiB are not labelled (docs/openbsd-notes.md).
        /// </summary>
        public const long BootAreaBytes = (32768L + 532480L) * 512;

        public DisklabelTemplate(IEnumerable<DisklabelTemplateEntry> entries)
        {
            Entries = entries.ToList();
            Check();
        }

        public IReadOnlyList<DisklabelTemplateEntry> Entries { get; }

        /// <summary>Sum of the minimums: less free space than this and disklabel refuses the template.</summary>
        public long MinimumBytes => Entries.Sum(e => e.MinBytes);

        /// <summary>The smallest disk the template fits on, boot area included.</summary>
        public long MinimumDiskBytes => MinimumBytes + BootAreaBytes;

        /// <summary>
        /// The layout for Rust release builds. The default auto layout on a 20 GB disk gives
        /// /usr/local about 2.3G, /usr/obj 5.3G and /tmp 0.8G (editor.c alloc_big, see DisklabelAutoAllocation) — too tight for the rust
        /// package plus a release build. This one grows /usr/local (packages), /tmp (rustc/linker
        /// temporaries) and /usr/obj (build output, last so it takes the rest); X11R6 and /usr/src
        /// are left out because the X sets are not installed and no source is unpacked.
        /// The order keeps '/' on 'a' and swap on 'b', which the installer expects.
        /// </summary>
        public static DisklabelTemplate RustBuild { get; } = new DisklabelTemplate(new[]
        {
            new DisklabelTemplateEntry("/", 1 * GiB, 2 * GiB, 3),
            new DisklabelTemplateEntry("swap", 1 * GiB, 4 * GiB, 4),
            new DisklabelTemplateEntry("/tmp", 3 * GiB, 8 * GiB, 12),
            new DisklabelTemplateEntry("/var", 1 * GiB, 4 * GiB, 4),
            new DisklabelTemplateEntry("/usr", 2 * GiB, 6 * GiB, 5),
            new DisklabelTemplateEntry("/usr/local", 5 * GiB, 16 * GiB, 24),
            new DisklabelTemplateEntry("/home", 2 * GiB, 8 * GiB, 8),
            new DisklabelTemplateEntry("/usr/obj", 6 * GiB, DisklabelTemplateEntry.Unlimited, 40),
        });

        /// <summary>The Rust build layout, checked against the disk it will be used on.</summary>
        public static DisklabelTemplate ForRustBuild(long diskSize = DefaultDiskSize)
        {
            RustBuild.EnsureFits(diskSize);
            return RustBuild;
        }

        /// <summary>Throws InvalidParameter.DiskSize when the minimums do not fit on <paramref name="diskSize"/>.</summary>
        public void EnsureFits(long diskSize)
        {
            if (diskSize >= MinimumDiskBytes) return;
            throw OpenBsdBuildException.BadParameter("DiskSize", diskSize,
                $"is smaller than the minimum of {FormatHuman(MinimumDiskBytes)} ({MinimumDiskBytes} bytes) the disk layout needs.",
                $"Use -DiskSize {Math.Ceiling((double)MinimumDiskBytes / GiB):0}GB or larger (default {DefaultDiskSize / GiB}GB).");
        }

        /// <summary>Partition sizes disklabel would choose for this template on <paramref name="diskSize"/>.</summary>
        public IReadOnlyList<DisklabelAllocation> Allocate(long diskSize)
        {
            EnsureFits(diskSize);
            return DisklabelAutoAllocation.Allocate(Entries, diskSize - BootAreaBytes, physicalMemory: 0, growWithMemory: false)
                   ?? throw new InvalidOperationException("minimums checked above");
        }

        /// <summary>The template text, one entry per line.</summary>
        public string ToText()
        {
            var text = new StringBuilder();
            foreach (var entry in Entries) text.Append(entry).Append('\n');
            return text.ToString();
        }

        public override string ToString() => ToText();

        private static readonly Regex SizePart = new Regex(@"^(?<n>[0-9]+(\.[0-9]+)?)(?<u>[kKmMgGtT])?$");

        /// <summary>Reads template text (the subset of disklabel's syntax this module writes and checks).</summary>
        public static DisklabelTemplate Parse(string text)
        {
            var entries = new List<DisklabelTemplateEntry>();
            var lineNumber = 0;
            foreach (var raw in text.Split('\n'))
            {
                lineNumber++;
                var fields = raw.Split(new[] { ' ', '\t', '\r' }, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length == 0) continue;
                if (fields.Length < 2 || fields.Length > 3) throw Invalid(lineNumber, raw);
                long min, max;
                if (fields[1] == "*") { min = 0; max = DisklabelTemplateEntry.Unlimited; }
                else
                {
                    var range = fields[1].Split(new[] { '-' }, 2);
                    var lo = SizePart.Match(range[0]);
                    var hiText = range.Length > 1 ? range[1] : "";
                    var hi = hiText == "*" || hiText == "" ? null : SizePart.Match(hiText);
                    if (!lo.Success || (hi != null && !hi.Success)) throw Invalid(lineNumber, raw);
                    // As in parse_sizerange(): a unit is required on at least one side and is shared.
                    var unit = lo.Groups["u"].Success ? lo.Groups["u"].Value : hi?.Groups["u"].Value ?? "";
                    if (unit == "") throw Invalid(lineNumber, raw);
                    min = ToBytes(lo.Groups["n"].Value, unit);
                    max = hiText == "*" ? DisklabelTemplateEntry.Unlimited
                        : hi == null ? min
                        : ToBytes(hi.Groups["n"].Value, hi.Groups["u"].Success ? hi.Groups["u"].Value : unit);
                }
                var percent = 0;
                if (fields.Length == 3 && !int.TryParse(fields[2].TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out percent))
                    throw Invalid(lineNumber, raw);
                entries.Add(new DisklabelTemplateEntry(fields[0], min, max, percent));
            }
            return new DisklabelTemplate(entries);
        }

        private void Check()
        {
            if (Entries.Count == 0 || Entries[0].MountPoint != "/")
                throw new OpenBsdBuildException("DisklabelTemplateInvalid", FailureKind.InvalidData,
                    "A disklabel template must start with '/' so that the root filesystem gets partition 'a'.", this,
                    "Put the '/' entry first and 'swap' second.");
            var seen = new HashSet<string>();
            foreach (var e in Entries)
            {
                if (!(e.MountPoint == "swap" || Regex.IsMatch(e.MountPoint, "^/([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$")) || !seen.Add(e.MountPoint))
                    throw new OpenBsdBuildException("DisklabelTemplateInvalid", FailureKind.InvalidData,
                        $"'{e.MountPoint}' is not a usable mount point, or appears twice.", e, "Use absolute paths or 'swap', each once.");
                if (e.MinBytes <= 0 || e.MinBytes > e.MaxBytes || e.Percent < 0 || e.Percent > 100)
                    throw new OpenBsdBuildException("DisklabelTemplateInvalid", FailureKind.InvalidData,
                        $"'{e}' has min > max, a zero size or a bad percentage.", e, "Fix the size range.");
            }
            // parse_autotable(): "sum of extra space allocation > 100%" is an error.
            if (Entries.Sum(e => e.Percent) > 100)
                throw new OpenBsdBuildException("DisklabelTemplateInvalid", FailureKind.InvalidData,
                    "The percentages of a disklabel template add up to more than 100.", this, "Lower the percentages.");
        }

        private static OpenBsdBuildException Invalid(int line, string text) =>
            new OpenBsdBuildException("DisklabelTemplateInvalid", FailureKind.InvalidData,
                $"Line {line} of the disklabel template is not 'mountpoint size[-max] [N%]': '{text.Trim()}'.", text,
                "Write sizes with a unit (k, m, g, t), e.g. '/usr/obj 6G-* 40%'.");

        private static long ToBytes(string number, string unit)
        {
            var factor = char.ToLowerInvariant(unit[0]) switch
            {
                'k' => 1024L,
                'm' => MiB,
                'g' => GiB,
                _ => 1024 * GiB,
            };
            return (long)(double.Parse(number, CultureInfo.InvariantCulture) * factor);
        }

        /// <summary>Whole gigabytes as "NG", else megabytes ("512M"); never fractional, which disklabel would accept but reads poorly.</summary>
        internal static string FormatSize(long bytes) =>
            bytes % GiB == 0 ? $"{bytes / GiB}G"
            : bytes % MiB == 0 ? $"{bytes / MiB}M"
            : $"{(bytes + 1023) / 1024}K";

        internal static string FormatHuman(long bytes) =>
            (bytes / (double)GiB).ToString("0.0", CultureInfo.InvariantCulture) + " GiB";
    }
}
