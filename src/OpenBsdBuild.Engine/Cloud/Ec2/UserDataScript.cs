using System;
using System.Text;
using OpenBsdBuild.Model;
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
    /// Renders the cloud-init user data: a bash script, so it runs on any Ubuntu AMI without
    /// cloud-config modules. It writes one line of machine-readable progress to
    /// <c>$STATE_DIR/status</c> (<c>phase=… percent=… message=…</c>) that the client follows over SSH.
    /// </summary>
    public static class UserDataScript
    {
        /// <summary>Where the status file lives on the host (OBB_STATE_DIR overrides it, for hosts shared with other work).</summary>
        public const string StateDirectoryExpression = "${OBB_STATE_DIR:-/var/lib/openbsdbuild}";

        /// <summary>How long apt-get install waits for the dpkg lock (unattended-upgrades on a fresh AMI can take minutes).</summary>
        public static readonly TimeSpan AptLockTimeout = TimeSpan.FromMinutes(10);
        private const int UpdateAttempts = 60; // 5 s apart

        public static string Render(UserDataOptions o)
        {
            if (o.MaxLifetime < TimeSpan.FromMinutes(1)) throw new ArgumentOutOfRangeException(nameof(o.MaxLifetime));
            int minutes = (int)Math.Ceiling(o.MaxLifetime.TotalMinutes);
            string qemu = o.Architecture == "amd64" ? "qemu-system-x86 ovmf qemu-utils" : "qemu-system-arm qemu-efi-aarch64 qemu-utils";
            string qemuBinary = o.Architecture == "amd64" ? "qemu-system-x86_64" : "qemu-system-aarch64";
            var s = new StringBuilder();
            s.Append("#!/bin/bash\n");
            s.Append("# OpenBsdBuild host bootstrap (rendered by New-MetalHost).\n");
            s.Append("set -uo pipefail\n");
            s.Append("STATE_DIR=\"" + StateDirectoryExpression + "\"\n");
            s.Append("mkdir -p \"$STATE_DIR/images\"\n");
            s.Append("status() { printf 'phase=%s percent=%s message=%s\\n' \"$1\" \"$2\" \"${3:-}\" > \"$STATE_DIR/status.tmp\" && mv -f \"$STATE_DIR/status.tmp\" \"$STATE_DIR/status\"; }\n");
            s.Append("fail() { status failed 0 \"$1\"; echo \"openbsdbuild: $1\" >&2; exit 1; }\n");
            // First, before anything that can fail: the host must end even if the client never comes back.
            s.Append($"shutdown -h +{minutes} 'OpenBsdBuild: maximum lifetime reached' || fail 'could not arm the self-destruct'\n");
            s.Append("echo '" + ConsoleFingerprints.Begin + "'\n");
            s.Append("for k in /etc/ssh/ssh_host_*_key.pub; do [ -f \"$k\" ] && ssh-keygen -lf \"$k\"; done\n");
            s.Append("echo '" + ConsoleFingerprints.End + "'\n");
            s.Append("status packages 0 'installing QEMU'\n");
            // AMIs (or hosts) that already carry QEMU skip apt entirely; a fresh Ubuntu does not.
            s.Append($"if ! command -v {qemuBinary} >/dev/null || ! command -v qemu-img >/dev/null; then\n");
            s.Append("  export DEBIAN_FRONTEND=noninteractive\n");
            // At first boot apt-daily (update) and unattended-upgrades may hold apt's locks. apt-get update
            // never waits for the lists lock, so it is retried; install waits for the dpkg lock only as long
            // as DPkg::Lock::Timeout says (apt 2.7; see docs/host-notes.md).
            s.Append($"  for i in $(seq 1 {UpdateAttempts}); do apt-get -q update && break; status packages 0 \"apt-get update failed (another apt may hold the package lists); retry $i of {UpdateAttempts}\"; sleep 5; done\n");
            s.Append($"  status packages 0 'installing QEMU (waits up to {AptLockTimeout.TotalMinutes:0} min for the dpkg lock if unattended-upgrades runs)'\n");
            s.Append($"  apt-get -o DPkg::Lock::Timeout={(int)AptLockTimeout.TotalSeconds} install -y -q --no-install-recommends {qemu} || fail 'apt-get install {qemu} failed'\n");
            s.Append("fi\n");
            s.Append("status packages 100 'QEMU installed'\n");
            // /dev/kvm is root:kvm 0660 on Ubuntu and cloud-init's user is not in kvm. The client is usually
            // logged in by now; it logs in again after the bootstrap, since a login keeps the groups it
            // started with (docs/host-notes.md).
            string login = ShellQuote.Quote(o.LoginUser);
            s.Append("KVM_GROUP=$(stat -c %G /dev/kvm 2>/dev/null)\n");
            s.Append("if [ -n \"$KVM_GROUP\" ] && [ \"$KVM_GROUP\" != root ] && id " + login + " >/dev/null 2>&1; then usermod -aG \"$KVM_GROUP\" " + login +
                     " || echo \"openbsdbuild: could not add the login user to group $KVM_GROUP\" >&2; fi\n");
            if (o.ImageUrl != null)
            {
                string target = "$STATE_DIR/images/" + o.ImageFileName;
                s.Append("IMAGE=\"" + target + "\"\n");
                s.Append("URL='" + o.ImageUrl.AbsoluteUri.Replace("'", "%27") + "'\n");
                s.Append("status download 0 'fetching the golden image'\n");
                // A one-byte ranged GET, not HEAD: a presigned URL is signed for GET only.
                s.Append("SIZE=$(curl -sfL -r 0-0 -o /dev/null -w '%header{content-range}' \"$URL\" 2>/dev/null | sed -n 's#.*/##p')\n");
                // The cheap check first: a disk that cannot hold the image fails now, not minutes into the download.
                s.Append("FREE=$(( $(df -Pk \"$STATE_DIR/images\" | awk 'NR==2 {print $4}') * 1024 ))\n");
                s.Append("if [ -n \"$SIZE\" ] && [ \"$SIZE\" -gt \"$FREE\" ] 2>/dev/null; then fail \"not enough disk space for the golden image: it is $SIZE bytes, $STATE_DIR/images has $FREE free (raise -RootVolumeSize)\"; fi\n");
                s.Append("curl -sSfL --retry 3 -o \"$IMAGE.partial\" -w '%{http_code}' \"$URL\" > \"$STATE_DIR/download.http\" 2> \"$STATE_DIR/download.err\" & CURL=$!\n");
                s.Append("while kill -0 $CURL 2>/dev/null; do\n");
                s.Append("  if [ -n \"$SIZE\" ] && [ \"$SIZE\" -gt 0 ] 2>/dev/null; then HAVE=$(stat -c %s \"$IMAGE.partial\" 2>/dev/null || echo 0); status download $((HAVE*100/SIZE)) \"$HAVE of $SIZE bytes\"; fi\n");
                s.Append("  sleep 1\n");
                s.Append("done\n");
                // curl exits 23 when it cannot write (a full disk) and 22 on an HTTP error (an expired or wrong presigned URL answers 403).
                s.Append("wait $CURL; RC=$?\n");
                s.Append("if [ $RC -ne 0 ]; then\n");
                s.Append("  rm -f \"$IMAGE.partial\"\n");
                s.Append("  case $RC in\n");
                s.Append("    23) fail \"no space left on the host's disk while downloading the golden image ($SIZE bytes; raise -RootVolumeSize)\" ;;\n");
                s.Append("    22) fail \"the presigned URL of the golden image was refused with HTTP $(cat \"$STATE_DIR/download.http\"): it has expired or is wrong; run again to get a fresh one\" ;;\n");
                s.Append("    *) fail \"downloading the golden image failed (curl exit $RC: $(tail -n 1 \"$STATE_DIR/download.err\"))\" ;;\n");
                s.Append("  esac\n");
                s.Append("fi\n");
                s.Append("status download 100 'downloaded'\n");
                if (!string.IsNullOrEmpty(o.ImageSha256))
                {
                    s.Append("status checksum 0 'checking SHA-256'\n");
                    s.Append("GOT=$(sha256sum \"$IMAGE.partial\" | cut -d' ' -f1)\n");
                    s.Append("[ \"$GOT\" = '" + o.ImageSha256!.ToLowerInvariant() + "' ] || { rm -f \"$IMAGE.partial\"; fail \"golden image SHA-256 mismatch: got $GOT\"; }\n");
                    s.Append("status checksum 100 'SHA-256 matches'\n");
                }
                if (!string.IsNullOrEmpty(o.ImageMetadataJson))
                {
                    // Base64, so no character of the JSON can end a quote or a here-document early.
                    string encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(o.ImageMetadataJson!));
                    s.Append("echo '" + encoded + "' | base64 -d > \"$IMAGE" + ImageMetadata.SidecarSuffix + "\" || fail 'could not write the golden image metadata'\n");
                }
                s.Append("mv -f \"$IMAGE.partial\" \"$IMAGE\"\n");
            }
            s.Append("status ready 100 'ready'\n");
            return s.ToString();
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
