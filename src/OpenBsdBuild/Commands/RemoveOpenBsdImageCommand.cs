using System.Management.Automation;
using OpenBsdBuild.Common;
using OpenBsdBuild.ImageStore;

namespace OpenBsdBuild.Commands
{
    /// <summary>Deletes a golden image and its metadata sidecar, in S3 or in a local folder.</summary>
    [Cmdlet(VerbsCommon.Remove, "OpenBsdImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(void))]
    public sealed class RemoveOpenBsdImageCommand : ImageCmdlet
    {
        /// <summary>An OpenBsdImage (Get-OpenBsdImage), an s3:// key or the path of a local image.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [ValidateNotNull]
        [ArgumentCompleter(typeof(ImageCompleter))]
        [ImageReferenceTransformation]
        public ImageReference Image { get; set; } = null!;

        protected override void ProcessRecord()
        {
            ForEachItem(() =>
            {
                var image = ResolveImage(nameof(Image), Image);
                if (!ShouldProcess($"{image.Location} and {image.MetadataLocation}", "Remove golden image")) return;
                var options = AwsOptions();
                RunEngine((r, ct) => ImageLibrary.RemoveAsync(image, options, r, ct));
            });
        }
    }
}
