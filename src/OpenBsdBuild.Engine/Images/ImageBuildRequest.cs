using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Installer;
using OpenBsdBuild.Images.Media;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Images
{
    /// <summary>What New-OpenBsdImage was asked to build; <see cref="Validate"/> checks it before anything starts.</summary>
    public sealed class ImageBuildRequest
    {
        /// <summary>OpenBSD release, e.g. "7.8".</summary>
        public string Version { get; set; } = "";
        /// <summary>arm64 or amd64.</summary>
        public string Architecture { get; set; } = "arm64";
        /// <summary>A local installNN.img with SHA256.sig beside it; or null when <see cref="Mirror"/> is given.</summary>
        public string? InstallMedia { get; set; }
        /// <summary>A mirror root such as https://cdn.openbsd.org/pub/OpenBSD/ ("&lt;version&gt;/&lt;arch&gt;/" is appended).</summary>
        public Uri? Mirror { get; set; }
        /// <summary>A signify public key file; else the release key in /etc/signify if this machine has it.</summary>
        public string? SignifyPublicKey { get; set; }
        public long DiskSize { get; set; } = DisklabelTemplate.DefaultDiskSize;
        public IList<string> Packages { get; set; } = new List<string>();
        /// <summary>
        /// Where pkg_add finds packages: a mirror URL, or a package directory on this machine that is served
        /// to the guest (default: the mirror's packages for this release).
        /// </summary>
        public string? PackagePath { get; set; }
        public bool PackagesFromDirectory => PackagePath != null && !IsUrl(PackagePath);
        public string BuildUser { get; set; } = "builder";
        /// <summary>One OpenSSH public key line: what builds log in with.</summary>
        public string BuildUserKey { get; set; } = "";
        /// <summary>Answers to "Set name(s)?"; the default drops X11 and games.</summary>
        public IList<string> Sets { get; set; } = new List<string> { "-x* -game*" };
        /// <summary>The image file to write (a .qcow2); its sidecar goes beside it.</summary>
        public string Output { get; set; } = "";
        public bool Interactive { get; set; }
        /// <summary>Skip the kernel relink and library reordering at boot: faster boots, one shared layout (see docs/golden-images.md).</summary>
        public bool SkipRelink { get; set; }
        /// <summary>A kernel on this machine to install as /bsd (the release's stays as /bsd.orig); null: the release's own.</summary>
        public string? Kernel { get; set; }
        /// <summary><see cref="ImageTargets.Qemu"/>, or <see cref="ImageTargets.Ec2"/> for an image that configures itself on an EC2 instance.</summary>
        public string Target { get; set; } = ImageTargets.Qemu;
        public int MemoryMB { get; set; } = 2048;
        public int CpuCount { get; set; } = 2;
        public string Hostname { get; set; } = "openbsd-build";
        public TimeSpan InstallTimeout { get; set; } = TimeSpan.FromMinutes(90);
        public TimeSpan FirstBootTimeout { get; set; } = TimeSpan.FromMinutes(30);

        /// <summary>"78" for 7.8: how the release names its files.</summary>
        public string ShortVersion => Version.Replace(".", "");

        /// <summary>installNN.img: the image with the sets on it (arm64 and amd64 alike).</summary>
        public string MediaFileName => InstallMedia != null ? Path.GetFileName(InstallMedia) : $"install{ShortVersion}.img";

        private KernelFile? _kernel;

        /// <summary>The checked -Kernel (hashed once); null when none was given.</summary>
        public KernelFile? InspectKernel() => Kernel == null ? null : _kernel ??= KernelFile.Inspect(Kernel, Architecture);

        // arm64 was first released with 6.1; amd64 long before, but nothing older is worth building.
        private static readonly Version FirstSupported = new Version(6, 1);

        public void Validate()
        {
            if (!Regex.IsMatch(Version ?? "", @"^[0-9]\.[0-9]$") || new Version(Version) < FirstSupported)
                throw OpenBsdBuildException.BadParameter("Version", Version, "is not an OpenBSD release this module knows (6.1 or later, written like 7.8).",
                    "Pass the release number, e.g. -Version 7.8.");
            if (Architecture != "arm64" && Architecture != "amd64")
                throw OpenBsdBuildException.BadParameter("Architecture", Architecture, "is not supported.", "Use arm64 or amd64.");
            if ((InstallMedia == null) == (Mirror == null))
                throw OpenBsdBuildException.BadParameter(InstallMedia == null ? "Mirror" : "InstallMedia", InstallMedia ?? Mirror?.ToString(),
                    InstallMedia == null ? "is required when no -InstallMedia is given." : "cannot be combined with -Mirror.",
                    "Pass either -InstallMedia ./install78.img (with SHA256.sig beside it) or -Mirror https://cdn.openbsd.org/pub/OpenBSD/.");
            if (InstallMedia != null && !Regex.IsMatch(Path.GetFileName(InstallMedia), @"^install[0-9]{2}\.(img|iso)$"))
                throw OpenBsdBuildException.BadParameter("InstallMedia", InstallMedia, "is not an OpenBSD install image (installNN.img or installNN.iso).",
                    "Pass the install image as downloaded from a mirror, without renaming it: its name is its entry in SHA256.sig.");
            if (InstallMedia != null && !Path.GetFileName(InstallMedia).StartsWith("install" + ShortVersion + ".", StringComparison.Ordinal))
                throw OpenBsdBuildException.BadParameter("InstallMedia", InstallMedia, $"is not the install image of {Version} (install{ShortVersion}.img).",
                    "Pass the media of the release given with -Version.");
            if (Mirror != null && (!Mirror.IsAbsoluteUri || (Mirror.Scheme != Uri.UriSchemeHttp && Mirror.Scheme != Uri.UriSchemeHttps)))
                throw OpenBsdBuildException.BadParameter("Mirror", Mirror, "is not an http:// or https:// URL.", "Pass e.g. https://cdn.openbsd.org/pub/OpenBSD/.");
            DisklabelTemplate.ForRustBuild(DiskSize);
            InstallKeys.Validate("BuildUserKey", BuildUserKey);
            if (string.IsNullOrWhiteSpace(BuildUserKey))
                throw OpenBsdBuildException.BadParameter("BuildUserKey", BuildUserKey, "is required: builds log in with it.",
                    "Pass the public key line, e.g. -BuildUserKey (Get-Content ~/.ssh/id_ed25519.pub).");
            new InstallUser { LoginName = BuildUser, PublicKey = BuildUserKey }.Validate();
            foreach (string package in Packages)
                if (!Regex.IsMatch(package ?? "", @"^[A-Za-z0-9][A-Za-z0-9_.+%-]*$"))
                    throw OpenBsdBuildException.BadParameter("Package", package, "is not a package name.", "Use pkg_add names such as rust, git or llvm%19.");
            if (PackagePath != null) ValidatePackagePath(PackagePath);
            if (string.IsNullOrWhiteSpace(Output) || !Output.EndsWith(".qcow2", StringComparison.OrdinalIgnoreCase))
                throw OpenBsdBuildException.BadParameter("Output", Output, "must name a .qcow2 file.", "Pass e.g. -Output ./openbsd-7.8-arm64.qcow2.");
            if (Target != ImageTargets.Qemu && Target != ImageTargets.Ec2)
                throw OpenBsdBuildException.BadParameter("Target", Target, "is not a target this module builds for.", "Use Qemu (the default) or Ec2.");
            InspectKernel();
            if (MemoryMB < 512) throw OpenBsdBuildException.BadParameter("Memory", MemoryMB, "is too little for the installer.", "Give at least 512MB.");
        }

        /// <summary>Whether -PackagePath names a URL (else a directory on this machine).</summary>
        public static bool IsUrl(string path) => Regex.IsMatch(path, "^[A-Za-z][A-Za-z0-9+.-]*://");

        private static void ValidatePackagePath(string path)
        {
            if (!IsUrl(path))
            {
                if (!Directory.Exists(path))
                    throw OpenBsdBuildException.BadParameter("PackagePath", path, "is neither an http(s):// URL nor a directory on this machine.",
                        "Pass a package mirror directory (https://cdn.openbsd.org/pub/OpenBSD/7.8/packages/aarch64/) or a local folder of .tgz packages.");
                return;
            }
            if (!Regex.IsMatch(path, @"^https?://[^\s'""]+$"))
                throw OpenBsdBuildException.BadParameter("PackagePath", path, "is not an http:// or https:// URL.",
                    "Pass a package mirror directory, e.g. https://cdn.openbsd.org/pub/OpenBSD/7.8/packages/aarch64/.");
            // The guest's 127.0.0.1 is the guest itself: a server on this machine's loopback is out of its reach.
            var host = new Uri(path).Host;
            if (host == "localhost" || host.StartsWith("127.", StringComparison.Ordinal) || host == "[::1]")
                throw OpenBsdBuildException.BadParameter("PackagePath", path, "points at this machine's loopback, which the guest cannot reach.",
                    "Pass the package folder itself (-PackagePath ./packages): it is then served to the guest.");
        }

        /// <summary>The packages URL pkg_add uses: the given one, else the mirror's, else the CDN's (a directory is served: see ImageBuilder).</summary>
        public string EffectivePackagePath()
        {
            if (PackagePath != null && IsUrl(PackagePath)) return PackagePath.TrimEnd('/') + "/";
            string root = Mirror?.AbsoluteUri.TrimEnd('/') ?? "https://cdn.openbsd.org/pub/OpenBSD";
            // pkg.conf(5) %m would do this in the guest; the URL is checked here first, so it is spelled out.
            return $"{root}/{Version}/packages/{(Architecture == "arm64" ? "aarch64" : "amd64")}/";
        }

        /// <summary>The install options both install paths read (docs/openbsd-notes.md), for this request.</summary>
        public InstallOptions ToInstallOptions(string rootPassword, string rootPublicKey, string? diskLayoutUrl) => new InstallOptions
        {
            Hostname = Hostname,
            RootPassword = rootPassword,
            RootPublicKey = rootPublicKey,
            User = new InstallUser { LoginName = BuildUser, FullName = "Build user", PublicKey = BuildUserKey },
            Sets = new DiskSetsSource { Disk = "sd0", Partition = "a", Pathname = $"{Version}/{Architecture}" },
            SetSelections = Sets.ToList(),
            DiskLayout = DisklabelTemplate.ForRustBuild(DiskSize),
            DiskLayoutUrl = diskLayoutUrl,
            RootDisk = "sd1",
            FinishAction = InstallFinishAction.Halt,
            // installNN.img has SHA256 but no SHA256.sig, so the installer always asks to go on unverified;
            // ImageBuilder boots only media whose SHA256.sig it checked with signify, which covers these sets.
            SetsVerification = SetsVerification.ByModule,
        };

        internal string DiskSizeText => (DiskSize / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + "M";
    }
}
