using System.Security.Cryptography;
using System.Text;

namespace OpenBsdBuild.Emulation.Model;

/// <summary>
/// The fixed world the emulator starts with: instance types (real vCPU/memory/arch figures for
/// the metal types the module cares about), Canonical Ubuntu images per region, and the SSM
/// public parameters that point at them. Ids are derived from names so they are stable across
/// runs and across emulator instances.
/// </summary>
internal static class Catalog
{
    public const string CanonicalOwnerId = "099720109477";

    public static readonly IReadOnlyList<EmulatedInstanceType> InstanceTypes =
    [
        new("a1.metal", "arm64", 16, 16, 1, 32 * 1024, 2.3, true, 0.408m),
        new("c6g.metal", "arm64", 64, 64, 1, 128 * 1024, 2.5, true, 2.176m),
        new("m6g.metal", "arm64", 64, 64, 1, 256 * 1024, 2.5, true, 2.464m),
        new("c7g.metal", "arm64", 64, 64, 1, 128 * 1024, 2.6, true, 2.32m),
        new("m7g.metal", "arm64", 64, 64, 1, 256 * 1024, 2.6, true, 2.6112m),
        new("c8g.metal-24xl", "arm64", 96, 96, 1, 192 * 1024, 2.8, true, 3.82848m),
        new("c5.metal", "x86_64", 96, 48, 2, 192 * 1024, 3.6, true, 4.08m),
        new("m5.metal", "x86_64", 96, 48, 2, 384 * 1024, 3.1, true, 4.608m),
        new("c6i.metal", "x86_64", 128, 64, 2, 256 * 1024, 3.5, true, 5.44m),
        new("m6i.metal", "x86_64", 128, 64, 2, 512 * 1024, 3.5, true, 6.144m),
        // Graviton2 and Graviton3 xlarge sizes, for the native road (New-OpenBsdInstance): vCPUs and memory
        // from the EC2 instance type specifications; price = the metal row / 16 (a metal type is 16 xlarges).
        new("c6g.xlarge", "arm64", 4, 4, 1, 8 * 1024, 2.5, false, 0.136m),
        new("m6g.xlarge", "arm64", 4, 4, 1, 16 * 1024, 2.5, false, 0.154m),
        new("r6g.xlarge", "arm64", 4, 4, 1, 32 * 1024, 2.5, false, 0.2016m),
        new("t4g.xlarge", "arm64", 4, 4, 1, 16 * 1024, 2.5, false, 0.1344m),
        new("c7g.xlarge", "arm64", 4, 4, 1, 8 * 1024, 2.6, false, 0.145m),
        // Small virtualised types, so "not a metal type" can be tested.
        new("t3.micro", "x86_64", 2, 1, 2, 1024, 2.5, false, 0.0104m),
        new("t4g.micro", "arm64", 2, 2, 1, 1024, 2.5, false, 0.0084m),
    ];

    /// <summary>
    /// Type/zone pairs that are not offered, so "Unsupported in this AZ" paths have something
    /// to hit without configuration: the newest Graviton metal is missing from the "c" zones.
    /// </summary>
    public static readonly IReadOnlyList<(string InstanceType, string ZoneSuffix)> NotOffered =
    [
        ("c8g.metal-24xl", "c"),
        ("a1.metal", "c"),
    ];

    public static IEnumerable<EmulatedImage> ImagesFor(string region)
    {
        var releases = new[]
        {
            (Series: "noble", Version: "24.04", Store: "hvm-ssd-gp3", Volume: "gp3"),
            (Series: "jammy", Version: "22.04", Store: "hvm-ssd", Volume: "gp2"),
        };
        foreach (var r in releases)
        foreach (var arch in new[] { "arm64", "amd64" })
        foreach (var date in new[] { "20250101", "20250115" })
        {
            var name = $"ubuntu/images/{r.Store}/ubuntu-{r.Series}-{r.Version}-{arch}-server-{date}";
            yield return new EmulatedImage(
                ImageId: DerivedId("ami", region + "/" + name),
                Region: region,
                Name: name,
                OwnerId: CanonicalOwnerId,
                Architecture: arch == "amd64" ? "x86_64" : "arm64",
                CreationDate: DateTimeOffset.ParseExact(date, "yyyyMMdd", null, System.Globalization.DateTimeStyles.AssumeUniversal),
                RootVolumeType: r.Volume,
                Description: $"Canonical, Ubuntu, {r.Version}, {arch} {r.Series} image");
        }
    }

    /// <summary>
    /// Canonical's SSM public parameters: "current" is the newest image of each series/arch.
    /// </summary>
    public static IEnumerable<(string Name, string Value)> SsmParametersFor(IEnumerable<EmulatedImage> images)
    {
        foreach (var group in images.Where(i => i.OwnerId == CanonicalOwnerId)
                     .GroupBy(i => i.Name[..i.Name.LastIndexOf('-')]))
        {
            var newest = group.MaxBy(i => i.CreationDate)!;
            var arch = newest.Architecture == "x86_64" ? "amd64" : "arm64";
            var version = newest.Name.Contains("24.04") ? "24.04" : "22.04";
            var volume = newest.RootVolumeType == "gp3" ? "ebs-gp3" : "ebs-gp2";
            yield return ($"/aws/service/canonical/ubuntu/server/{version}/stable/current/{arch}/hvm/{volume}/ami-id", newest.ImageId);
        }
    }

    /// <summary>A 17-hex-digit id derived from a stable name, shaped like EC2's.</summary>
    public static string DerivedId(string prefix, string seed)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(seed));
        return prefix + "-0" + Convert.ToHexStringLower(hash)[..16];
    }

    /// <summary>EC2 zone ids look like use1-az1; the exact mapping is account-specific, any stable one will do.</summary>
    public static string ZoneId(string region, string zoneName)
    {
        var parts = region.Split('-');
        var prefix = parts[0] + string.Concat(parts[1..^1].Select(p => p[0])) + parts[^1];
        return $"{prefix}-az{zoneName[^1] - 'a' + 1}";
    }
}
