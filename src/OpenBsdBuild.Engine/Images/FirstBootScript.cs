using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Model;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// What runs as root over SSH on the freshly installed system's first boot, and how its report is
    /// read back: packages, the build user's login class, boot loader timeout, optionally a kernel of the
    /// user's choosing (-Kernel), no boot-time relinking and the EC2 agent (-Target Ec2), host key
    /// fingerprints, zeroed free space.
    /// </summary>
    public static class FirstBootScript
    {
        /// <summary>
        /// The login class given to the build user: no data-size cap. A name of our own: OpenBSD's
        /// login.conf already has "build" (capped at 1843M, for its own build user) and "default" and
        /// "staff" start at 1536M (docs/openbsd-notes.md).
        /// </summary>
        public const string LoginClass = "openbsdbuild";

        /// <summary>
        /// The build user's own directory on /usr/obj, where Invoke-GuestBuild works. A fresh install
        /// leaves /usr/obj root's (mode 0755), so only root can make it (docs/openbsd-notes.md).
        /// </summary>
        public const string WorkRoot = Builds.BuildRunner.WorkRoot;
        /// <summary>Where ImageBuilder uploads the -Kernel file before the script runs (the root filesystem: the move to /bsd is atomic).</summary>
        public const string StagedKernel = "/bsd.openbsdbuild";
        /// <summary>Where ImageBuilder uploads the rendered EC2 agent before the script installs it.</summary>
        public const string StagedAgent = "/root/openbsdbuild-agent";
        private const string PackagesMarker = "@@obb-packages@@";
        private const string KeysMarker = "@@obb-hostkeys@@";

        /// <summary>Images/first-boot.sh with this image's inputs.</summary>
        /// <param name="packagePath">PKG_PATH as the guest reaches it.</param>
        public static string Render(ImageBuildRequest request, string packagePath) =>
            ShellTemplate.Load("first-boot.sh").Render(new ShellInputs()
                .Set("PKG_PATH", request.Packages.Count > 0 ? packagePath : "")
                // Validate() allows pkg_add names only: no spaces, nothing a shell would expand.
                .Set("PACKAGES", string.Join(" ", request.Packages))
                .Set("LOGIN_CLASS", LoginClass)
                .Set("BUILD_USER", request.BuildUser)
                .Set("WORK_ROOT", WorkRoot)
                .Set("SKIP_RELINK", request.SkipRelink)
                .Set("STAGED_KERNEL", StagedKernel)
                .Set("KERNEL_SHA256", request.InspectKernel()?.Sha256 ?? "")
                .Set("STAGED_AGENT", StagedAgent)
                .Set("AGENT_PATH", Ec2Agent.InstallPath)
                .Set("EC2_AGENT", request.Target == ImageTargets.Ec2));

        /// <summary>Installed packages ("rust-1.86.0" → rust / 1.86.0) from the script's output.</summary>
        public static List<PackageVersion> ParsePackages(string output) => Between(output, PackagesMarker)
            .Select(line => Regex.Match(line, @"^(?<name>.+?)-(?<version>[0-9][^-]*(-[^-]+)?)$"))
            .Where(m => m.Success)
            .Select(m => new PackageVersion { Name = m.Groups["name"].Value, Version = m.Groups["version"].Value })
            .ToList();

        /// <summary>"SHA256:…" fingerprints from <c>ssh-keygen -lf</c> lines ("256 SHA256:… root@host (ED25519)").</summary>
        public static List<string> ParseFingerprints(string output) => Between(output, KeysMarker)
            .Select(line => Regex.Match(line, @"^\d+ (?<fp>SHA256:[A-Za-z0-9+/]{43}) "))
            .Where(m => m.Success)
            .Select(m => m.Groups["fp"].Value)
            .ToList();

        /// <summary>What the console prints for <c>ssh-keygen -lf</c> on each host key, between markers.</summary>
        public static string FingerprintCommand => $"echo {KeysMarker}; for k in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf \"$k\"; done; echo {KeysMarker}";

        private static IEnumerable<string> Between(string output, string marker)
        {
            var lines = output.Replace("\r", "").Split('\n');
            // The last pair: a console also echoes the command line that contains the markers.
            int end = System.Array.FindLastIndex(lines, l => l.Trim() == marker);
            int start = end <= 0 ? -1 : System.Array.FindLastIndex(lines, end - 1, l => l.Trim() == marker);
            return start < 0 ? Enumerable.Empty<string>() : lines.Skip(start + 1).Take(end - start - 1).Select(l => l.Trim());
        }
    }
}
