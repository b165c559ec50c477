using System;
using System.Management.Automation;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Lists the account's AMIs that Register-OpenBsdAmi made (by tag), newest first.</summary>
    [Cmdlet(VerbsCommon.Get, "OpenBsdAmi")]
    [OutputType(typeof(OpenBsdAmi))]
    public sealed class GetOpenBsdAmiCommand : AwsCmdlet
    {
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidatePattern("^ami-[0-9a-f]+$")]
        public string[]? ImageId { get; set; }

        /// <summary>The AMI's name; '*' and '?' match anything.</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>The OpenBSD version ("7.8", "7.*").</summary>
        [Parameter]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        public string? Version { get; set; }

        /// <summary>Where the staged disks are (an S3-compatible store in tests); carried by the objects for Unregister-OpenBsdAmi.</summary>
        [Parameter]
        public Uri? S3EndpointUrl { get; set; }

        protected override void ProcessRecord()
        {
            var aws = AwsOptions();
            try
            {
                foreach (var ami in RunEngine((r, ct) => AmiInventory.ListAsync(aws, ImageId, Name, Version, S3EndpointUrl, r, ct)))
                    WriteObject(ami);
            }
            catch (OpenBsdBuildException ex)
            {
                WriteEngineError(ex);
            }
        }
    }
}
