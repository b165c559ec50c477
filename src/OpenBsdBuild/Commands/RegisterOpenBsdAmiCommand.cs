using System;
using System.Management.Automation;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Turns a local golden image into an EC2 AMI: raw disk, staged in S3, imported as a snapshot, registered.</summary>
    [Cmdlet(VerbsLifecycle.Register, "OpenBsdAmi", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(OpenBsdAmi))]
    public sealed class RegisterOpenBsdAmiCommand : ImageUploadCmdlet
    {
        /// <summary>s3://bucket/prefix/ in the AMI's region: the raw disk is staged there (and removed with the AMI).</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string StagingLocation { get; set; } = "";

        /// <summary>The AMI's name; default: the image's file name and the start of its SHA-256.</summary>
        [Parameter]
        [ValidateLength(3, 128)]
        public string? Name { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Description { get; set; }

        /// <summary>The service role VM Import/Export reads the staged disk with.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string RoleName { get; set; } = "vmimport";

        /// <summary>Another S3 endpoint for the staging bucket (an S3-compatible store in tests).</summary>
        [Parameter]
        public Uri? S3EndpointUrl { get; set; }

        /// <summary>How often the import task is looked at.</summary>
        [Parameter]
        public TimeSpan PollInterval { get; set; } = SnapshotImport.DefaultPollInterval;

        /// <summary>Register an image not made with New-OpenBsdImage -Target Ec2.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        private S3Location _staging = null!;

        protected override void BeginProcessing()
        {
            if (PollInterval < TimeSpan.FromMilliseconds(50) || PollInterval > TimeSpan.FromMinutes(1))
                ThrowBadParameter(nameof(PollInterval), PollInterval, "is outside 50 ms to 1 minute.", "Leave the default (1 second) or pass a value in that range.");
            if (!S3Location.IsS3Uri(StagingLocation))
                ThrowBadParameter(nameof(StagingLocation), StagingLocation, "is not an s3:// location.", "Pass s3://bucket/prefix/ of a bucket in the AMI's region.");
            _staging = ParseS3Location(nameof(StagingLocation), StagingLocation);
            if (!_staging.IsFolder)
                ThrowBadParameter(nameof(StagingLocation), StagingLocation, "names an object, not a prefix.", "End it with a slash: the raw disk is named after the AMI.");
        }

        protected override void ProcessRecord()
        {
            ForEachItem(() =>
            {
                var image = ResolveImage(nameof(Image), Image);
                string target = Name ?? image.Name;
                if (!ShouldProcess($"{image.Location} (OpenBSD {image.Version} {image.Architecture})", $"Register as the AMI '{target}', staging the raw disk under {_staging}")) return;
                var request = new AmiRequest
                {
                    Name = Name,
                    Description = Description,
                    Staging = _staging,
                    RoleName = RoleName,
                    S3EndpointUrl = S3EndpointUrl,
                    Upload = Upload,
                    PollInterval = PollInterval,
                    AnyTarget = Force,
                };
                var aws = AwsOptions();
                WriteObject(RunEngine((r, ct) => AmiRegistrar.RegisterAsync(image, request, aws, r, ct)));
            });
        }
    }
}
