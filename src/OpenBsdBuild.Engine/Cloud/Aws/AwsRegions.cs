using System.Collections.Generic;
using System.Linq;
using Amazon;

namespace OpenBsdBuild.Cloud.Aws
{
    /// <summary>The regions the bundled AWS SDK knows, for tab completion (the cmdlet layer never touches SDK types).</summary>
    public static class AwsRegions
    {
        public static IReadOnlyList<string> Names => RegionEndpoint.EnumerableAllRegions.Select(r => r.SystemName).OrderBy(n => n).ToList();
    }
}
