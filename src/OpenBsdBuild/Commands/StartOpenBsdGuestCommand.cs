using System;
using System.Management.Automation;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Boots a guest from an image on a host and waits until its SSH answers with the expected host key.</summary>
    [Cmdlet(VerbsLifecycle.Start, "OpenBsdGuest", SupportsShouldProcess = true)]
    [OutputType(typeof(OpenBsdGuest))]
    public sealed class StartOpenBsdGuestCommand : ImageCmdlet, IGuestParameters
    {
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public MetalHost MetalHost { get; set; } = null!;

        /// <summary>
        /// An OpenBsdImage, an s3:// key (the host fetches it by a presigned URL and checks its SHA-256),
        /// or the path of a qcow2 or raw image on the host.
        /// </summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNull]
        [ArgumentCompleter(typeof(ImageCompleter))]
        [ImageReferenceTransformation]
        public ImageReference Image { get; set; } = null!;

        [Parameter]
        [ValidatePattern("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
        public string? Name { get; set; }

        string? IGuestParameters.GuestName => Name;

        [Parameter]
        [ValidateSet("arm64", "amd64")]
        public string? Architecture { get; set; }

        /// <summary>Guest memory in bytes (e.g. 4GB).</summary>
        [Parameter]
        [ValidateByteSize(256L * 1024 * 1024, 1024L * 1024 * 1024 * 1024)]
        public long Memory { get; set; } = 2L * 1024 * 1024 * 1024;

        [Parameter]
        [ValidateRange(1, 256)]
        public int CpuCount { get; set; } = 2;

        [Parameter]
        public TimeSpan BootTimeout { get; set; } = TimeSpan.FromMinutes(5);

        /// <summary>Port on the host's loopback for the guest's SSH; a free one by default.</summary>
        [Parameter]
        [ValidateRange(1024, 65535)]
        public int SshPort { get; set; }

        /// <summary>Guest user to log in as; default the image's build user, else root.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? User { get; set; }

        /// <summary>Private key for the guest; default ~/.ssh/id_ed25519.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        /// <summary>The guest's SSH host key fingerprint(s); default those in the image's metadata.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] HostKeyFingerprint { get; set; } = new string[0];

        [Parameter]
        public SwitchParameter TrustHostKey { get; set; }

        /// <summary>Keep MSI-X interrupts on the virtio devices (off by default: they get lost on a1.metal under KVM).</summary>
        [Parameter]
        public SwitchParameter EnableMsiX { get; set; }

        [Parameter]
        [ValidateSet("kvm", "hvf", "tcg")]
        public string? Accelerator { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? FirmwareCode { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? FirmwareVars { get; set; }

        protected override void BeginProcessing()
        {
            ParameterBinding.Validate(this, this);
            if ((FirmwareCode == null) != (FirmwareVars == null))
                ThrowBadParameter(FirmwareCode == null ? nameof(FirmwareCode) : nameof(FirmwareVars), null, "firmware code and vars go together.",
                    "Pass both -FirmwareCode and -FirmwareVars, or neither.");
        }

        /// <summary>When the pipeline fails or is stopped, keep the guest running (and say so) instead of stopping it.</summary>
        [Parameter]
        public SwitchParameter KeepOnFailure { get; set; }

        protected override bool KeepOnFailureWanted => KeepOnFailure;

        protected override void ProcessRecord()
        {
            if (HostRemovedError(MetalHost) is OpenBsdBuildException removed)
            {
                WriteEngineError(removed);
                return;
            }
            OpenBsdImage? golden;
            string imagePath;
            try
            {
                (golden, imagePath) = ChooseImage();
            }
            catch (OpenBsdBuildException ex)
            {
                PipelineCustody.Dropped(MetalHost);
                WriteEngineError(ex);
                return;
            }
            var options = ParameterBinding.ToGuestOptions(this, this, imagePath, Architecture);
            options.SshPort = SshPort;
            options.FirmwareCode = FirmwareCode;
            options.FirmwareVars = FirmwareVars;
            if (!ShouldProcess(MetalHost.Name, $"Start guest '{Name ?? "(generated name)"}' from image {golden?.Location ?? imagePath}")) return;
            var aws = golden?.S3Location == null ? null : ImageLibrary.WithImageDefaults(AwsOptions(), golden);
            try
            {
                var guest = RunEngine(async (r, ct) =>
                {
                    if (aws != null) options.Image = await HostImageFetch.FetchAsync(MetalHost, golden!, aws, r, ct).ConfigureAwait(false);
                    return await GuestLauncher.StartAsync(MetalHost, options, r, ct).ConfigureAwait(false);
                });
                TakeCustody(guest);
                PipelineCustody.PassedOn(MetalHost);
                WriteObject(guest);
            }
            catch (OpenBsdBuildException ex)
            {
                // A host made earlier in this pipeline that no guest leads to is ended when the pipeline ends.
                PipelineCustody.Dropped(MetalHost);
                WriteEngineError(ex);
            }
        }

        /// <summary>The image object (if any) and the path the guest boots from; an S3 image's path is known only once the host has fetched it.</summary>
        private (OpenBsdImage?, string) ChooseImage()
        {
            if (Image.Image != null || Image.IsS3)
            {
                var golden = ResolveImage(nameof(Image), Image);
                if (golden.S3Location != null) return (golden, "");
                if (MetalHost.Provider != HostProvider.Local)
                    ThrowBadParameter(nameof(Image), golden.Location, $"is a file on this machine, not on {MetalHost.Name}.",
                        "Publish it to S3 (Publish-OpenBsdImage) and pass the s3:// image, or copy it to the host and pass its path there.");
                return (golden, golden.Location);
            }
            RefuseEmpty(nameof(Image), Image);
            return (null, Image.Text);
        }
    }
}
