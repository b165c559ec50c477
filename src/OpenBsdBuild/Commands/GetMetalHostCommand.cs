using System.Management.Automation;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Lists the EC2 metal hosts this module created (by tag); -Orphaned lists what outlived its purpose.</summary>
    [Cmdlet(VerbsCommon.Get, "MetalHost")]
    [OutputType(typeof(MetalHost), typeof(Ec2Leftover))]
    public sealed class GetMetalHostCommand : AwsCmdlet
    {
        /// <summary>Hosts past their expiry, and security groups / key pairs whose instance no longer exists.</summary>
        [Parameter]
        public SwitchParameter Orphaned { get; set; }

        protected override void ProcessRecord()
        {
            var aws = AwsOptions();
            try
            {
                if (Orphaned)
                {
                    var (hosts, leftovers) = RunEngine((r, ct) => Ec2Inventory.ListOrphansAsync(aws, r, ct));
                    foreach (var h in hosts) WriteObject(h);
                    foreach (var l in leftovers) WriteObject(l);
                }
                else
                {
                    foreach (var h in RunEngine((r, ct) => Ec2Inventory.ListHostsAsync(aws, r, ct))) WriteObject(h);
                }
            }
            catch (OpenBsdBuildException ex)
            {
                WriteEngineError(ex);
            }
        }
    }
}
