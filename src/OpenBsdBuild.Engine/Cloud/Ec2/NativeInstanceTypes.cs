using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using Amazon.EC2.Model;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// Which instance types an OpenBSD AMI with the out-of-tree ena(4) driver can run on
    /// (docs/choosing-a-host.md): Graviton2 works; on Graviton3 and later the device rejects the
    /// driver's CREATE_CQ, so ena0 never attaches and the instance has no network.
    /// </summary>
    public static class NativeInstanceTypes
    {
        /// <summary>New-OpenBsdImage's default build user, for AMIs that carry no build-user tag.</summary>
        public const string DefaultBuildUser = "builder";

        /// <summary>Graviton2, compute first, then general purpose, burstable, memory (docs/choosing-a-host.md has the prices).</summary>
        private static readonly string[] Arm64Defaults = { "c6g.xlarge", "m6g.xlarge", "t4g.xlarge", "r6g.xlarge" };

        public static string[] Defaults(string architecture) =>
            architecture == "amd64" ? new[] { "c5.xlarge", "m5.xlarge" } : Arm64Defaults;

        // AWS names a family class + generation + options ("c6gd", "hpc7g", "x2gd"); a "g" option is Graviton.
        private static readonly Regex Family = new Regex(@"^(?<class>[a-z]+)(?<generation>[0-9]+)(?<options>[a-z-]*)\.", RegexOptions.CultureInvariant);

        /// <summary>Graviton3 or later (c7g, m7g, r7g, hpc7g, c8g, …): generation 7 and up with the Graviton option.</summary>
        public static bool IsGraviton3OrLater(string instanceType)
        {
            var m = Family.Match(instanceType);
            return m.Success && m.Groups["options"].Value.StartsWith("g", System.StringComparison.Ordinal) &&
                   int.Parse(m.Groups["generation"].Value, CultureInfo.InvariantCulture) >= 7;
        }

        /// <summary>Refuses a type the AMI cannot run on: another architecture, or Graviton3+ without -Force.</summary>
        public static void Check(string instanceType, InstanceTypeInfo info, string imageId, string imageArchitecture, bool allowUnsupported)
        {
            var archs = info.ProcessorInfo?.SupportedArchitectures ?? new List<string>();
            if (!archs.Contains(imageArchitecture))
                throw OpenBsdBuildException.BadParameter("InstanceType", instanceType,
                    $"is {string.Join("/", archs)}, but image {imageId} is {imageArchitecture}: EC2 would refuse the launch.",
                    $"Pick a type of the image's architecture ({string.Join(", ", Defaults(imageArchitecture == "x86_64" ? "amd64" : "arm64"))}), or another image.");
            if (IsGraviton3OrLater(instanceType) && !allowUnsupported)
                throw OpenBsdBuildException.BadParameter("InstanceType", instanceType,
                    "is Graviton3 or later: there ena(4) cannot create its queues (the device rejects CREATE_CQ), so OpenBSD would boot with no network.",
                    $"Use a Graviton2 type ({string.Join(", ", Arm64Defaults.Select(t => t.Split('.')[0]))}), or add -Force to try it anyway.");
        }
    }
}
