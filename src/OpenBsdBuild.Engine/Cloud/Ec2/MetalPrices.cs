using System.Collections.Generic;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// On-demand Linux prices per hour of the bare-metal types this module launches, us-east-1;
    /// a metal type costs the same as the largest size of its family. Where each row comes from,
    /// and which are unverified, is in docs/host-notes.md. Regions differ by a few percent: pass
    /// -PricePerHour when it matters.
    /// </summary>
    public static class MetalPrices
    {
        public const string Source = "built-in us-east-1 on-demand Linux table (see MetalPrices.cs for sources; override with -PricePerHour)";

        private static readonly Dictionary<string, decimal> UsEast1 = new Dictionary<string, decimal>
        {
            ["a1.metal"] = 0.408m,
            ["c6g.metal"] = 2.176m,
            ["c6gd.metal"] = 2.4576m,
            ["m6g.metal"] = 2.464m,
            ["m6gd.metal"] = 2.8928m,
            ["r6g.metal"] = 3.2256m,
            ["c7g.metal"] = 2.32m,
            ["m7g.metal"] = 2.6112m,
            ["r7g.metal"] = 3.4272m,
            ["c8g.metal-24xl"] = 3.82848m,
            // The native road's Graviton2 xlarges: a sixteenth of their family's metal row (docs/choosing-a-host.md).
            ["c6g.xlarge"] = 0.136m,
            ["m6g.xlarge"] = 0.154m,
            ["r6g.xlarge"] = 0.2016m,
            ["t4g.xlarge"] = 0.1344m,
            ["c7g.xlarge"] = 0.145m,
            ["c5.metal"] = 4.08m,
            ["m5.metal"] = 4.608m,
            ["c6i.metal"] = 5.44m,
            ["m6i.metal"] = 6.144m,
        };

        public static decimal? For(string instanceType) =>
            UsEast1.TryGetValue(instanceType, out decimal p) ? p : (decimal?)null;
    }
}
