using System;
using System.Management.Automation;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>
    /// Ends a host: powers off its guests, deletes their files, closes connections. Accepts a
    /// host, a guest, a build result, an instance id or Get-MetalHost output and always finds the
    /// host. Attached machines (local, SSH) are never destroyed, only released; EC2 hosts are
    /// terminated with everything made for them.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "MetalHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ObjectSet)]
    [OutputType(typeof(TeardownReport))]
    public sealed class RemoveMetalHostCommand : AwsCmdlet
    {
        private const string ObjectSet = "Object";
        private const string IdSet = "InstanceId";

        [Parameter(Mandatory = true, ValueFromPipeline = true, Position = 0, ParameterSetName = ObjectSet)]
        [ValidateNotNull]
        public object InputObject { get; set; } = null!;

        /// <summary>EC2 instance ids of hosts this module created.</summary>
        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = IdSet)]
        [ValidatePattern("^i-[0-9a-f]{8,17}$")]
        public string[] InstanceId { get; set; } = new string[0];

        /// <summary>How long each guest gets to power off before it is killed.</summary>
        [Parameter]
        public TimeSpan GuestGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>Wait until EC2 reports the instance terminated (metal can take many minutes).</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>Pass the input object on after the host is gone (e.g. the build result at the end of a pipeline).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void BeginProcessing()
        {
            if (GuestGracePeriod < TimeSpan.Zero || GuestGracePeriod > TimeSpan.FromHours(1))
                ThrowBadParameter(nameof(GuestGracePeriod), GuestGracePeriod, "must be between 0 and 1 hour.", "Pass e.g. -GuestGracePeriod (New-TimeSpan -Seconds 30).");
        }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == IdSet)
            {
                foreach (string id in InstanceId) RemoveInstance(id, null, null, InstanceId);
                return;
            }
            object input = InputObject is PSObject ps ? ps.BaseObject : InputObject;
            if (input is string text && text.StartsWith("i-", StringComparison.Ordinal))
            {
                RemoveInstance(text, null, null, InputObject);
                return;
            }
            if (input is Ec2Leftover leftover)
            {
                if (!ShouldProcess($"{leftover.Kind} {leftover.Id} ({leftover.Name})", "Delete leftover")) return;
                var aws = HasAwsParameters ? AwsOptions() : new AwsConnectionOptions { Region = leftover.Region };
                try { RunEngine((r, ct) => Ec2Inventory.DeleteLeftoverAsync(aws, leftover, r, ct)); }
                catch (OpenBsdBuildException ex) { WriteEngineError(ex, leftover); }
                if (PassThru) WriteObject(InputObject);
                return;
            }
            MetalHost? host = Resolve(input);
            if (host == null)
            {
                ThrowEngineError(new OpenBsdBuildException("NotAHost", FailureKind.InvalidArgument,
                    $"Remove-MetalHost takes a MetalHost, an OpenBsdGuest, a GuestBuildResult or an EC2 instance id, not {input.GetType().Name}.",
                    InputObject, "Pipe the output of New-MetalHost, Get-MetalHost, Connect-MetalHost, Start-OpenBsdGuest or Invoke-GuestBuild."));
                return;
            }
            if (host.State == "Removed") // several results of one host in the same pipeline
            {
                if (PassThru) WriteObject(InputObject);
                return;
            }
            string action = host.Provider == HostProvider.Ec2 ? "Terminate host and delete what was created for it" : "Stop its guests and disconnect (the machine itself is kept)";
            if (!ShouldProcess(host.Name, action)) return;

            foreach (var guest in host.Guests)
            {
                try
                {
                    var outcome = RunEngine((r, ct) => GuestControl.StopAsync(guest, GuestGracePeriod, r, ct));
                    WriteVerbose($"Guest {guest.Name}: {outcome}");
                }
                catch (OpenBsdBuildException ex)
                {
                    WriteEngineError(ex, guest);
                }
            }
            host.Shell.Dispose();
            if (host.Provider == HostProvider.Ec2 && host.InstanceId != null)
            {
                if (!RemoveInstance(host.InstanceId, host, host.PricePerHour, InputObject, confirmed: true)) return;
            }
            host.State = "Removed";
            HostRegistry.Remove(host);
            WriteVerbose($"Released host {host.Name} after {Units.Duration(host.Age)}.");
            if (PassThru) WriteObject(InputObject);
        }

        private bool RemoveInstance(string id, MetalHost? host, decimal? price, object target, bool confirmed = false)
        {
            if (!confirmed && !ShouldProcess(id, "Terminate host and delete what was created for it")) return false;
            AwsConnectionOptions aws = HasAwsParameters || host?.Ec2 == null ? AwsOptions() : host.Ec2.Connection;
            if (aws.Region == null && host?.Region != null) aws.Region = host.Region;
            try
            {
                var report = RunEngine((r, ct) => Ec2Teardown.RemoveAsync(aws, id, Wait, price, r, ct));
                host?.Ec2?.EphemeralKey?.Dispose();
                if (host != null) host.InstanceState = report.State;
                WriteInformation(new InformationRecord($"Removed {report}.", MyInvocation.MyCommand.Name));
                if (!PassThru) WriteObject(report);
                return true;
            }
            catch (OpenBsdBuildException ex)
            {
                WriteEngineError(ex, target);
                return false;
            }
        }

        private static MetalHost? Resolve(object input) => input switch
        {
            MetalHost h => h,
            OpenBsdGuest g => g.Host,
            GuestBuildResult r => r.Host,
            _ => null,
        };
    }
}
