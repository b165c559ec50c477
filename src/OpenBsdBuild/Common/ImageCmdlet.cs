using System;
using System.IO;
using System.Management.Automation;
using OpenBsdBuild.Errors;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Common
{
    /// <summary>What the image cmdlets share: turning an -Image argument (object, s3:// URI, path) into an image.</summary>
    public abstract class ImageCmdlet : AwsCmdlet
    {
        /// <summary>An image object as is; an s3:// URI or a local path (relative, ~, PSDrive) read with its metadata.</summary>
        protected OpenBsdImage ResolveImage(string parameter, ImageReference reference)
        {
            if (reference.Image != null) return reference.Image;
            RefuseEmpty(parameter, reference);
            string location = ResolveImageLocation(parameter, reference.Text);
            var options = AwsOptions();
            return RunEngine((r, ct) => ImageLibrary.GetAsync(location, options, r, ct));
        }

        /// <summary>The one refusal of an empty -Image, whether the cmdlet reads a path here or on a host.</summary>
        protected void RefuseEmpty(string parameter, ImageReference reference)
        {
            if (reference.Image == null && reference.Text.Length == 0)
                ThrowBadParameter(parameter, reference.Text, "is empty.", "Pass an image object (Get-OpenBsdImage), an s3:// URI or the path of an image.");
        }

        /// <summary>
        /// An s3:// URI checked as one (a bucket name S3 would refuse is this parameter's error), anything else a local path.
        /// "s3:/typo" or "S3:bucket" is a mistyped URI, not a path on a drive named s3.
        /// </summary>
        protected string ResolveImageLocation(string parameter, string text)
        {
            if (S3Location.IsS3Uri(text))
            {
                if (!S3Location.TryParse(text.Trim(), out _, out string? problem))
                    ThrowBadParameter(parameter, text, problem ?? "is not an s3:// location.", "Write it as s3://bucket/prefix/ (two slashes after s3:).");
                return text.Trim();
            }
            try { return ResolveLocalPath(text); }
            catch (Exception ex) when (ex is System.Management.Automation.DriveNotFoundException || ex is ProviderNotFoundException || ex is ItemNotFoundException)
            {
                ThrowBadParameter(parameter, text, ex.Message, "Pass an s3:// URI or a path on this machine's file system.");
                throw;
            }
        }

        /// <summary>An s3:// destination, refused as this parameter's error before anything runs.</summary>
        protected S3Location ParseS3Location(string parameter, string text)
        {
            if (!S3Location.TryParse(text?.Trim(), out var location, out string? problem))
                ThrowBadParameter(parameter, text, problem ?? "is not an s3:// location.", "Pass s3://bucket/prefix/ with a bucket name S3 accepts (3 to 63 lower-case letters, digits, dots and hyphens).");
            return location!;
        }

        /// <summary>Runs <paramref name="work"/> for one pipeline item; an engine failure is that item's error, not the pipeline's end.</summary>
        protected void ForEachItem(System.Action work)
        {
            try
            {
                work();
            }
            catch (OpenBsdBuildException ex)
            {
                WriteEngineError(ex);
            }
        }
    }

    /// <summary>The image cmdlets that upload an image to S3 in parallel parts: Publish-OpenBsdImage and Register-OpenBsdAmi.</summary>
    public abstract class ImageUploadCmdlet : ImageCmdlet
    {
        /// <summary>An OpenBsdImage (New-OpenBsdImage, Get-OpenBsdImage on a folder) or the path of a local image with its sidecar.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [ValidateNotNull]
        [ArgumentCompleter(typeof(ImageCompleter))]
        [ImageReferenceTransformation]
        public ImageReference Image { get; set; } = null!;

        /// <summary>Multipart part size in bytes (8MB to 512MB).</summary>
        [Parameter]
        [ValidateRange(S3ImageStore.MinimumPartSize, 512 * S3ImageStore.MiB)]
        public long PartSize { get; set; } = S3ImageStore.DefaultPartSize;

        /// <summary>Parts uploaded at once; each holds one part in memory.</summary>
        [Parameter]
        [ValidateRange(1, 32)]
        public int ThrottleLimit { get; set; } = S3ImageStore.DefaultPartsInFlight;

        /// <summary>How the parts go up, from -PartSize and -ThrottleLimit.</summary>
        protected S3PublishOptions Upload => new S3PublishOptions { PartSize = PartSize, PartsInFlight = ThrottleLimit };
    }
}
