using System;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>What the host should do at first boot.</summary>
    public sealed class UserDataOptions
    {
        /// <summary>arm64 or amd64: which QEMU and UEFI firmware to install.</summary>
        public string Architecture { get; set; } = "arm64";
        /// <summary>The user the client logs in as (the AMI's cloud user): it gets /dev/kvm's group.</summary>
        public string LoginUser { get; set; } = "ubuntu";
        public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(2);
        /// <summary>A presigned HTTPS URL of the golden image; null: nothing to fetch.</summary>
        public Uri? ImageUrl { get; set; }
        /// <summary>Expected SHA-256 (hex) of the image; null: not checked.</summary>
        public string? ImageSha256 { get; set; }
        /// <summary>File name the image gets under the state directory's images/ folder.</summary>
        public string ImageFileName { get; set; } = "golden.qcow2";
        /// <summary>
        /// The image's metadata sidecar (JSON), written beside it once its checksum matched, so guests
        /// started from it pin their host key and log in as the build user; null: no sidecar.
        /// </summary>
        public string? ImageMetadataJson { get; set; }
    }

    /// <summary>
    /// Renders the cloud-init user data, Cloud/Ec2/host-bootstrap.sh: a bash script, so it runs on any Ubuntu
    /// AMI without cloud-config modules. It writes one line of machine-readable progress to
    /// <c>$STATE_DIR/status</c> (<c>phase=… percent=… message=…</c>) that the client follows over SSH.
    /// </summary>
    public static class UserDataScript
    {
        /// <summary>Where the status file lives on the host (OBB_STATE_DIR overrides it, for hosts shared with other work).</summary>
        public const string StateDirectoryExpression = "${OBB_STATE_DIR:-/var/lib/openbsdbuild}";

        /// <summary>How long apt-get install waits for the dpkg lock (unattended-upgrades on a fresh AMI can take minutes).</summary>
        public static readonly TimeSpan AptLockTimeout = TimeSpan.FromMinutes(10);

        public static string Render(UserDataOptions o)
        {
            if (o.MaxLifetime < TimeSpan.FromMinutes(1)) throw new ArgumentOutOfRangeException(nameof(o.MaxLifetime));
            bool amd64 = o.Architecture == "amd64";
            return ShellTemplate.Load("host-bootstrap.sh").RenderFile(new ShellInputs()
                .Set("LIFETIME_MINUTES", (long)Math.Ceiling(o.MaxLifetime.TotalMinutes))
                .Set("QEMU_BINARY", amd64 ? "qemu-system-x86_64" : "qemu-system-aarch64")
                .Set("QEMU_PACKAGES", amd64 ? "qemu-system-x86 ovmf qemu-utils" : "qemu-system-arm qemu-efi-aarch64 qemu-utils")
                .Set("APT_LOCK_SECONDS", (long)AptLockTimeout.TotalSeconds)
                .Set("LOGIN_USER", o.LoginUser)
                .Set("IMAGE_URL", o.ImageUrl?.AbsoluteUri ?? "")
                .Set("IMAGE_FILE_NAME", o.ImageFileName)
                .Set("IMAGE_SHA256", o.ImageUrl == null ? "" : o.ImageSha256?.ToLowerInvariant() ?? "")
                .Set("IMAGE_METADATA", o.ImageUrl == null ? "" : o.ImageMetadataJson ?? ""));
        }
    }

    /// <summary>One line of the host's status file.</summary>
    public sealed class BootstrapStatus
    {
        public string Phase { get; private set; } = "";
        public int Percent { get; private set; }
        public string Message { get; private set; } = "";

        /// <summary>Parses "phase=download percent=42 message=…"; null when the file is empty or not there yet.</summary>
        public static BootstrapStatus? Parse(string? line)
        {
            if (string.IsNullOrWhiteSpace(line)) return null;
            line = line!.Trim().Split('\n')[0];
            var status = new BootstrapStatus();
            int m = line.IndexOf(" message=", StringComparison.Ordinal);
            if (m >= 0) { status.Message = line.Substring(m + 9); line = line.Substring(0, m); }
            foreach (string part in line.Split(' '))
            {
                int eq = part.IndexOf('=');
                if (eq < 0) continue;
                string key = part.Substring(0, eq), value = part.Substring(eq + 1);
                if (key == "phase") status.Phase = value;
                else if (key == "percent" && int.TryParse(value, out int p)) status.Percent = Math.Max(0, Math.Min(100, p));
            }
            return status.Phase.Length == 0 ? null : status;
        }
    }
}
