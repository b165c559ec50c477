using System;
using System.IO;
using System.Management.Automation;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Images.Installer;
using OpenBsdBuild.Images.Media;
using OpenBsdBuild.Images;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Installs OpenBSD unattended on a host's QEMU and leaves a verified, compressed golden image with its metadata.</summary>
    [Cmdlet(VerbsCommon.New, "OpenBsdImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = MediaSet)]
    [OutputType(typeof(OpenBsdImage))]
    public sealed class NewOpenBsdImageCommand : OpenBsdBuildCmdlet
    {
        private const string MediaSet = "InstallMedia";
        private const string MirrorSet = "Mirror";

        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public MetalHost MetalHost { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Version { get; set; } = "";

        [Parameter]
        [ValidateSet("arm64", "amd64")]
        public string Architecture { get; set; } = "arm64";

        /// <summary>A local installNN.img with SHA256.sig beside it.</summary>
        [Parameter(Mandatory = true, ParameterSetName = MediaSet)]
        [ValidateNotNullOrEmpty]
        public string InstallMedia { get; set; } = "";

        /// <summary>A mirror root, e.g. https://cdn.openbsd.org/pub/OpenBSD/.</summary>
        [Parameter(Mandatory = true, ParameterSetName = MirrorSet)]
        [ValidateNotNull]
        public Uri Mirror { get; set; } = null!;

        /// <summary>signify public key of the release (openbsd-NN-base.pub).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SignifyPublicKey { get; set; }

        [Parameter]
        public long DiskSize { get; set; } = DisklabelTemplate.DefaultDiskSize;

        [Parameter]
        [ValidateNotNull]
        public string[] Package { get; set; } = new string[0];

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? PackagePath { get; set; }

        /// <summary>The public key builds log in with: the key line, or the path of a .pub file.</summary>
        [Parameter(Mandatory = true)]
        [Alias("BuildUserKey")]
        [ValidateNotNullOrEmpty]
        public string UserKey { get; set; } = "";

        /// <summary>The login user the image gets for builds (-User of Start-OpenBsdGuest and Invoke-GuestBuild); once -BuildUser.</summary>
        [Parameter]
        [Alias("BuildUser")]
        [ValidatePattern("^[a-z_][a-z0-9_-]{0,30}$")]
        public string User { get; set; } = "builder";

        /// <summary>Answers to the installer's "Set name(s)?" question.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] Sets { get; set; } = { "-x* -game*" };

        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string Output { get; set; } = "";

        /// <summary>Replace an existing image at -Output.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Answer the installer's questions over the serial console instead of autoinstall.</summary>
        [Parameter]
        public SwitchParameter Interactive { get; set; }

        /// <summary>Skip the boot-time kernel relink and library reordering (faster boots, one shared layout).</summary>
        [Parameter]
        public SwitchParameter SkipRelink { get; set; }

        /// <summary>A kernel to install as /bsd (e.g. GENERIC.MP built with ena(4)); the release's stays as /bsd.orig and is no longer relinked at boot.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Kernel { get; set; }

        /// <summary>Qemu: a guest behind a host (the default). Ec2: an image that configures itself on an EC2 instance (first-boot agent, no host keys of its own).</summary>
        [Parameter]
        [ValidateSet("Qemu", "Ec2")]
        public string Target { get; set; } = "Qemu";

        [Parameter]
        [ValidateRange(512L * 1024 * 1024, 1024L * 1024 * 1024 * 1024)]
        public long Memory { get; set; } = 2L * 1024 * 1024 * 1024;

        [Parameter]
        [ValidateRange(1, 256)]
        public int CpuCount { get; set; } = 2;

        [Parameter]
        public TimeSpan InstallTimeout { get; set; } = TimeSpan.FromMinutes(90);

        protected override void ProcessRecord()
        {
            var request = new ImageBuildRequest
            {
                Version = Version,
                Architecture = Architecture,
                InstallMedia = ParameterSetName == MediaSet ? ResolveLocalPath(InstallMedia) : null,
                Mirror = ParameterSetName == MirrorSet ? Mirror : null,
                SignifyPublicKey = SignifyPublicKey == null ? null : ResolveLocalPath(SignifyPublicKey),
                DiskSize = DiskSize,
                Packages = Package,
                PackagePath = PackagePath == null || ImageBuildRequest.IsUrl(PackagePath) ? PackagePath : ResolveLocalPath(PackagePath),
                BuildUser = User,
                BuildUserKey = ReadKey(UserKey),
                Sets = Sets,
                Output = ResolveLocalPath(Output),
                Interactive = Interactive,
                SkipRelink = SkipRelink,
                Kernel = Kernel == null ? null : ResolveLocalPath(Kernel),
                Target = Target.ToLowerInvariant(),
                MemoryMB = (int)(Memory / (1024 * 1024)),
                CpuCount = CpuCount,
                InstallTimeout = InstallTimeout,
            };
            try
            {
                request.Validate();
                if (File.Exists(request.Output) && !Force)
                    throw new OpenBsdBuildException("ImageAlreadyExists", FailureKind.ResourceExists, $"'{request.Output}' already exists.", request.Output,
                        "Pass another -Output, or -Force to replace it.");
                string extras = (request.Kernel != null ? $" with the kernel {request.Kernel}" : "") + (request.Target == ImageTargets.Ec2 ? " for EC2 (first-boot agent)" : "");
                if (!ShouldProcess(MetalHost.Name, $"Install OpenBSD {Version}/{Architecture}{extras} on a {DiskSize / (1L << 30)} GB disk and write {request.Output}")) return;
                WriteObject(RunEngine((r, ct) => ImageBuilder.BuildAsync(MetalHost, request, r, ct)));
            }
            catch (OpenBsdBuildException ex)
            {
                WriteEngineError(ex);
            }
        }

        /// <summary>A key line as is; otherwise the path of a .pub file holding one.</summary>
        private string ReadKey(string value)
        {
            if (value.StartsWith("ssh-", StringComparison.Ordinal) || value.StartsWith("ecdsa-", StringComparison.Ordinal) || value.StartsWith("sk-", StringComparison.Ordinal))
                return value.Trim();
            return File.ReadAllText(ResolveExistingFile(nameof(UserKey), value)).Trim();
        }
    }
}
