using System;
using System.Linq;
using System.Management.Automation;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Deregisters an AMI Register-OpenBsdAmi made and deletes its snapshot and staged S3 object.</summary>
    [Cmdlet(VerbsLifecycle.Unregister, "OpenBsdAmi", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ObjectSet)]
    public sealed class UnregisterOpenBsdAmiCommand : AwsCmdlet
    {
        private const string ObjectSet = "Object";
        private const string IdSet = "Id";

        /// <summary>An AMI from Get-OpenBsdAmi or Register-OpenBsdAmi.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ParameterSetName = ObjectSet)]
        [ValidateNotNull]
        public OpenBsdAmi InputObject { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 0, ParameterSetName = IdSet)]
        [ValidatePattern("^ami-[0-9a-f]+$")]
        public string ImageId { get; set; } = "";

        /// <summary>Another S3 endpoint for the staged disk (default: the one the AMI object carries).</summary>
        [Parameter]
        public Uri? S3EndpointUrl { get; set; }

        protected override void ProcessRecord()
        {
            try
            {
                OpenBsdAmi ami;
                AwsConnectionOptions aws;
                if (ParameterSetName == IdSet)
                {
                    aws = AwsOptions();
                    ami = RunEngine((r, ct) => AmiInventory.ListAsync(aws, new[] { ImageId }, null, null, S3EndpointUrl, r, ct)).FirstOrDefault()
                          ?? throw new OpenBsdBuildException("AmiNotFound", FailureKind.ObjectNotFound,
                              $"This account has no AMI {ImageId} made by Register-OpenBsdAmi.", ImageId,
                              "List them with Get-OpenBsdAmi; an AMI made otherwise is removed with Unregister-EC2Image.");
                }
                else
                {
                    ami = InputObject;
                    // Removed where it was found (with the connection that found it), unless told otherwise.
                    aws = HasAwsParameters ? AwsOptions() : ami.Connection ?? AwsOptions();
                    aws.EndpointUrl ??= ami.EndpointUrl;
                    aws.Region ??= ami.Region;
                }
                string parts = string.Join(", ", new[] { ami.SnapshotId, ami.StagedObject }.Where(p => !string.IsNullOrEmpty(p)));
                if (!ShouldProcess($"{ami.ImageId} ({ami.Name}{(parts.Length > 0 ? "; " + parts : "")})", "Deregister the AMI and delete its snapshot and staged disk")) return;
                RunEngine((r, ct) => AmiInventory.RemoveAsync(ami, aws, S3EndpointUrl, r, ct));
            }
            catch (OpenBsdBuildException ex)
            {
                WriteEngineError(ex);
            }
        }
    }
}
