using System.IO;
using System.Management.Automation;
using OpenBsdBuild.Cloud;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Common
{
    /// <summary>What the image cmdlets share: turning an -Image argument (object, s3:// URI, path) into an image.</summary>
    public abstract class ImageCmdlet : AwsCmdlet
    {
        /// <summary>An OpenBsdImage as is; an s3:// URI or a local path (relative, ~, PSDrive) read with its metadata.</summary>
        protected OpenBsdImage ResolveImage(string parameter, object value)
        {
            object input = value is PSObject ps ? ps.BaseObject : value;
            if (input is OpenBsdImage image) return image;
            string? text = input is FileInfo file ? file.FullName : input?.ToString();
            if (string.IsNullOrWhiteSpace(text))
                ThrowBadParameter(parameter, text, "is empty.", "Pass an image object, an s3:// URI or the path of a local image.");
            string location = ImageLibrary.IsS3(text) ? text!.Trim() : ResolveLocalPath(text!);
            var options = AwsOptions();
            return RunEngine((r, ct) => ImageLibrary.GetAsync(location, options, r, ct));
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
}
