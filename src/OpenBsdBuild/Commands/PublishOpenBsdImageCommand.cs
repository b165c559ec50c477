using System.Management.Automation;
using OpenBsdBuild.Common;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Uploads a local golden image and its metadata to an S3 prefix in parallel parts.</summary>
    [Cmdlet(VerbsData.Publish, "OpenBsdImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(OpenBsdImage))]
    public sealed class PublishOpenBsdImageCommand : ImageUploadCmdlet
    {
        /// <summary>s3://bucket/prefix/; the image keeps its file name under it.</summary>
        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = "";

        /// <summary>Replace an image already published under that name.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        private S3Location _destination = null!;

        protected override void BeginProcessing()
        {
            if (!S3Location.IsS3Uri(Destination))
                ThrowBadParameter(nameof(Destination), Destination, "is not an s3:// location.", "Pass s3://bucket/prefix/.");
            _destination = ParseS3Location(nameof(Destination), Destination);
        }

        protected override void ProcessRecord()
        {
            ForEachItem(() =>
            {
                var image = ResolveImage(nameof(Image), Image);
                if (!ShouldProcess($"{image.Location} ({image.Size / 1e6:F0} MB)", $"Publish to {_destination}{(Force ? " (overwriting)" : "")}")) return;
                var options = AwsOptions();
                var upload = Upload;
                var published = RunEngine((r, ct) => ImageLibrary.PublishAsync(image, _destination, Force, upload, options, r, ct));
                if (PassThru) WriteObject(published);
            });
        }
    }
}
