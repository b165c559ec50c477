using System.Collections.Generic;
using System.Linq;
using System.Text;
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

        /// <param name="packagePath">PKG_PATH as the guest reaches it.</param>
        public static string Render(ImageBuildRequest request, string packagePath)
        {
            var s = new StringBuilder();
            s.Append("set -e\n");
            if (request.Packages.Count > 0)
            {
                s.Append($"export PKG_PATH={ShellQuote.Quote(packagePath)}\n");
                s.Append("pkg_add -I ").Append(string.Join(" ", request.Packages.Select(ShellQuote.Quote))).Append('\n');
            }
            // rustc and LLVM links need several GB of data segment; the port itself refuses below 3 GB.
            // "datasize" before tc=default: it then wins over default's datasize-cur/-max (login_cap.c gsetrl).
            s.Append($"grep -q '^{LoginClass}:' /etc/login.conf || printf '%s\\n' " +
                     ShellQuote.Quote($"{LoginClass}:\\\n\t:datasize=infinity:maxproc=infinity:openfiles-cur=8192:openfiles-max=16384:stacksize-cur=8M:tc=default:") +
                     " >> /etc/login.conf\n");
            s.Append("if [ -f /etc/login.conf.db ]; then cap_mkdb /etc/login.conf; fi\n");
            s.Append($"usermod -L {LoginClass} {ShellQuote.Quote(request.BuildUser)}\n");
            // Builds belong on /usr/obj (the layout's biggest filesystem); /home is too small for them.
            s.Append($"mkdir -p {WorkRoot} && chown {ShellQuote.Quote(request.BuildUser)} {WorkRoot} && chmod 755 {WorkRoot}\n");
            // The boot loader waits 5 s for a key by default; nobody types on a build guest's console.
            s.Append("echo 'set timeout 1' > /etc/boot.conf\n");
            var kernel = request.InspectKernel();
            if (kernel != null)
            {
                // /etc/rc relinks /bsd from the release's objects in the background after every boot (reorder_kernel),
                // which would replace this kernel; on the first boot that run may still be going: wait for it first.
                s.Append("while pgrep -f /usr/libexec/reorder_kernel >/dev/null; do sleep 2; done\n");
                s.Append($"[ \"$(sha256 -q {StagedKernel})\" = {kernel.Sha256} ] || {{ echo 'the uploaded kernel does not have the SHA-256 of -Kernel' >&2; exit 1; }}\n");
                s.Append($"[ -e /bsd.orig ] || mv /bsd /bsd.orig\n");
                s.Append($"mv -f {StagedKernel} /bsd && chown root:wheel /bsd && chmod 700 /bsd\n");
                // /var/db/kernel.SHA256 keeps the release kernel's hash, so reorder_kernel would refuse this /bsd anyway
                // (it relinks only a /bsd that matches it); the rc line goes too, so no boot logs a failed relink.
                s.Append("sed -i 's|^/usr/libexec/reorder_kernel &|# & (disabled by New-OpenBsdImage -Kernel: /bsd is not the release kernel)|' /etc/rc\n");
            }
            if (request.SkipRelink)
            {
                // Every guest from this image then shares one kernel and library layout (no KARL); see docs/golden-images.md.
                s.Append("sed -i 's|^/usr/libexec/reorder_kernel &|# & (disabled by New-OpenBsdImage -SkipRelink)|' /etc/rc\n");
                s.Append("rcctl disable library_aslr\n");
            }
            bool ec2 = request.Target == ImageTargets.Ec2;
            if (ec2)
            {
                // rc runs rc.local on every boot, after sshd is up and before the login prompt (docs/golden-images.md).
                s.Append($"mkdir -p /usr/local/libexec && install -o root -g bin -m 555 {StagedAgent} {Ec2Agent.InstallPath} && rm -f {StagedAgent}\n");
                s.Append($"grep -q '^{Ec2Agent.InstallPath}$' /etc/rc.local 2>/dev/null || echo {Ec2Agent.InstallPath} >> /etc/rc.local\n");
            }
            s.Append($"echo {PackagesMarker}; pkg_info -q 2>/dev/null || true; echo {PackagesMarker}\n");
            s.Append(FingerprintCommand).Append('\n');
            // The ephemeral key that ran this script must not stay in the image.
            s.Append("rm -f /root/.ssh/authorized_keys\n");
            // Each instance makes its own host keys (rc's ssh-keygen -A at boot, then the agent): none may ship in an EC2 image.
            if (ec2) s.Append("rm -f /etc/ssh/ssh_host_*key /etc/ssh/ssh_host_*key.pub\n");
            // Zeroed blocks compress to nothing in qemu-img convert -c.
            s.Append("for m in $(mount -t ffs | awk '{print $3}'); do dd if=/dev/zero of=\"$m/.obb-zero\" bs=1m 2>/dev/null || true; rm -f \"$m/.obb-zero\"; done\n");
            s.Append("sync\n");
            return s.ToString();
        }

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
