using System.Management.Automation;
using OpenBsdBuild.Common;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Lists golden images in an S3 prefix or a local folder, newest first, with their metadata.</summary>
    [Cmdlet(VerbsCommon.Get, "OpenBsdImage")]
    [OutputType(typeof(OpenBsdImage))]
    public sealed class GetOpenBsdImageCommand : ImageCmdlet
    {
        /// <summary>s3://bucket/prefix/, a local folder, or one image (s3:// key or file).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
        [ValidateNotNullOrEmpty]
        public string[] Location { get; set; } = new string[0];

        /// <summary>OpenBSD version, wildcards allowed (7.*).</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ImageVersionCompleter))]
        public string? Version { get; set; }

        [Parameter]
        [ValidateSet("arm64", "amd64")]
        public string? Architecture { get; set; }

        protected override void ProcessRecord()
        {
            var options = AwsOptions();
            foreach (string location in Location)
            {
                string resolved = ResolveImageLocation(nameof(Location), location);
                ForEachItem(() =>
                {
                    var (images, problems) = RunEngine((r, ct) => ImageLibrary.FindAsync(resolved, Version, Architecture, options, r, ct));
                    // Problems first: an image that cannot be used must not hide behind a long list.
                    foreach (var problem in problems) WriteEngineError(problem);
                    foreach (var image in images) WriteObject(image);
                });
            }
        }
    }
}
