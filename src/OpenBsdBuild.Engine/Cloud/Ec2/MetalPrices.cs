using System.Collections.Generic;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// On-demand Linux prices per hour of the bare-metal types this module launches.
    /// Source: AWS EC2 On-Demand pricing (aws.amazon.com/ec2/pricing/on-demand), us-east-1, as
    /// listed in 2024–2025; a metal type costs the same as the largest size of its family.
    /// a1.metal agrees with FACTS.md §6 (≈$0.408/h). Other regions differ by a few percent;
    /// pass -PricePerHour when it matters.
    /// </summary>
    public static class MetalPrices
    {
        public const string Source = "AWS EC2 On-Demand pricing, us-east-1 Linux (built-in table; override with -PricePerHour)";

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
            ["c5.metal"] = 4.08m,
            ["m5.metal"] = 4.608m,
            ["c6i.metal"] = 5.44m,
            ["m6i.metal"] = 6.144m,
        };

        public static decimal? For(string instanceType) =>
            UsEast1.TryGetValue(instanceType, out decimal p) ? p : (decimal?)null;
    }
}
