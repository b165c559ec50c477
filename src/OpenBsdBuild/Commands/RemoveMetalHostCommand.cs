using System;
using System.Collections;
using System.Text.RegularExpressions;
using System.Management.Automation;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Flow;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Commands
{
    /// <summary>
    /// Ends a host: stops its guests, deletes their files, closes connections. Accepts a host, a
    /// guest, a build result, an instance id, Get-MetalHost output or any object with an InstanceId
    /// property (AWS.Tools' instances), and always finds the host; an item it cannot use is a
    /// non-terminating error and the rest of the input is still removed. Attached machines (local,
    /// SSH) are never destroyed, only released; EC2 hosts are terminated with everything made for them.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "MetalHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = ObjectSet)]
    [OutputType(typeof(TeardownReport))]
    public sealed class RemoveMetalHostCommand : AwsCmdlet
    {
        private const string ObjectSet = "Object";
        private const string IdSet = "InstanceId";
        private static readonly Regex InstanceIdShape = new Regex("^i-[0-9a-f]{8,17}$");

        // Takes every pipeline object itself (by value): by-property-name binding of -InstanceId would never
        // be tried for an [object] parameter, so objects with an InstanceId property are read here.
        [Parameter(Mandatory = true, ValueFromPipeline = true, Position = 0, ParameterSetName = ObjectSet)]
        [ValidateNotNull]
        public object InputObject { get; set; } = null!;

        /// <summary>EC2 instance ids of hosts this module created.</summary>
        [Parameter(Mandatory = true, ParameterSetName = IdSet)]
        [ValidatePattern("^i-[0-9a-f]{8,17}$")]
        public string[] InstanceId { get; set; } = new string[0];

        /// <summary>
        /// How long each guest gets to power off before it is killed. Default 0: a guest's disk is a
        /// throwaway overlay, so nothing on it needs a clean shutdown.
        /// </summary>
        [Parameter]
        public TimeSpan GuestGracePeriod { get; set; } = TimeSpan.Zero;

        /// <summary>Wait until EC2 reports the instance terminated (metal can take many minutes).</summary>
        [Parameter]
        public SwitchParameter Wait { get; set; }

        /// <summary>Pass the input object on after the host is gone (e.g. the build result at the end of a pipeline).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void BeginProcessing()
        {
            ParameterBinding.ValidateGracePeriod(this, nameof(GuestGracePeriod), GuestGracePeriod);
        }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == IdSet)
            {
                foreach (string id in InstanceId) RemoveInstance(id, id);
                return;
            }
            // -InputObject $a,$b (not piped) arrives as one array.
            object input = InputObject is PSObject ps ? ps.BaseObject : InputObject;
            if (input is IEnumerable list && !(input is string))
            {
                foreach (object item in list) if (item != null) RemoveOne(item);
                return;
            }
            RemoveOne(InputObject);
        }

        private void RemoveOne(object item)
        {
            object input = item is PSObject ps ? ps.BaseObject : item;
            if (input is Ec2Leftover leftover)
            {
                RemoveLeftover(leftover, item);
                return;
            }
            MetalHost? host = Resolve(input);
            if (host == null)
            {
                string? id = input as string ?? InstanceIdProperty(item);
                if (id != null && InstanceIdShape.IsMatch(id))
                {
                    if (RemoveInstance(id, item) && PassThru) WriteObject(item);
                    return;
                }
                WriteEngineError(new OpenBsdBuildException("NotAHost", FailureKind.InvalidArgument,
                    id != null
                        ? $"'{id}' is not an EC2 instance id (i- and 8 or 17 hex digits)."
                        : $"Remove-MetalHost takes a MetalHost, an OpenBsdGuest, a GuestBuildResult, an Ec2Leftover, an EC2 instance id or an object with an InstanceId property, not {input.GetType().Name}.",
                    input, "Pipe the output of New-MetalHost, Get-MetalHost, Connect-MetalHost, Start-OpenBsdGuest or Invoke-GuestBuild, or instance ids; the rest of the input is still removed."), input);
                return;
            }
            if (host.State == HostState.Removed) // several results of one host in the same pipeline
            {
                if (PassThru) WriteObject(item);
                return;
            }
            if (input is GuestBuildResult { Succeeded: false } failed && (PipelineCustody.IsKeptByRunningPipeline(failed.Guest) || PipelineCustody.IsKeptByRunningPipeline(host)))
            {
                // The failure -KeepOnFailure was given for: keep the guest and its host to look into, as a stage that threw would.
                // Once the pipeline that made them has completed, the same result removes them (docs/reliability.md).
                WriteWarning($"The build in {failed.Guest.Name} failed, and -KeepOnFailure was given earlier in this pipeline: kept {failed.Guest.Name} and its host {host.Name}. " +
                             (host.InstanceId != null ? $"Remove them with: Remove-MetalHost -InstanceId {host.InstanceId} -Region {host.Region} (the host's self-destruct stays armed)." :
                                                        $"Stop the guest with: Get-OpenBsdGuest -Name {failed.Guest.Name} | Stop-OpenBsdGuest, or pipe the result to Remove-MetalHost."));
                if (PassThru) WriteObject(item);
                return;
            }
            string action = host.Provider == HostProvider.Ec2 ? "Terminate host and delete what was created for it" : "Stop its guests and disconnect (the machine itself is kept)";
            if (!ShouldProcess(host.Name, action)) return;

            var options = new HostTeardownOptions { GuestGracePeriod = GuestGracePeriod, WaitForTermination = Wait };
            var ended = RunEngine((r, ct) => HostTeardown.StopGuestsAsync(host, options, r, ct));
            WriteGuestStops(ended);
            if (host.Provider == HostProvider.Ec2 && host.InstanceId != null) options.Aws = AwsOptionsFor(host);
            RunEngine((r, ct) => HostTeardown.EndHostAsync(ended, options, r, ct));
            if (ended.TerminationError != null)
            {
                WriteEngineError(AsEngineError(ended.TerminationError, host.InstanceId!), item);
                return;
            }
            if (ended.Teardown != null) WriteRemoved(ended.Teardown);
            host.State = HostState.Removed;
            HostRegistry.Remove(host);
            WriteVerbose($"Released host {host.Name} after {Units.Duration(host.Age)}.");
            if (PassThru) WriteObject(item);
        }

        private void RemoveLeftover(Ec2Leftover leftover, object item)
        {
            if (!ShouldProcess($"{leftover.Kind} {leftover.Id} ({leftover.Name})", "Delete leftover")) return;
            // Deleted where it was found (same endpoint and credentials) unless other AWS parameters are given.
            var aws = HasAwsParameters ? AwsOptions() : leftover.Connection ?? new AwsConnectionOptions { Region = leftover.Region };
            if (aws.Region == null) aws.Region = leftover.Region;
            try { RunEngine((r, ct) => Ec2Inventory.DeleteLeftoverAsync(aws, leftover, r, ct)); }
            catch (OpenBsdBuildException ex) { WriteEngineError(ex, leftover); return; }
            if (PassThru) WriteObject(item);
        }

        /// <summary>The InstanceId property of any object (AWS.Tools' Amazon.EC2.Model.Instance, a pscustomobject, CSV rows).</summary>
        private static string? InstanceIdProperty(object item)
        {
            var property = PSObject.AsPSObject(item).Properties["InstanceId"];
            try { return property?.Value is object value ? (value is PSObject p ? p.BaseObject : value).ToString() : null; }
            catch (GetValueException) { return null; }
        }

        private bool RemoveInstance(string id, object target)
        {
            if (!ShouldProcess(id, "Terminate host and delete what was created for it")) return false;
            var aws = AwsOptions();
            try
            {
                WriteRemoved(RunEngine((r, ct) => Ec2Teardown.RemoveAsync(aws, id, Wait, null, r, ct)));
                return true;
            }
            catch (OpenBsdBuildException ex)
            {
                WriteEngineError(ex, target);
                return false;
            }
        }

        /// <summary>Where an EC2 host is terminated: where it was launched, unless AWS parameters say otherwise.</summary>
        private AwsConnectionOptions AwsOptionsFor(MetalHost host)
        {
            AwsConnectionOptions aws = HasAwsParameters || host.Ec2 == null ? AwsOptions() : host.Ec2.Connection;
            if (aws.Region == null && host.Region != null) aws.Region = host.Region;
            return aws;
        }

        private void WriteRemoved(TeardownReport report)
        {
            WriteInformation(new InformationRecord($"Removed {report}.", MyInvocation.MyCommand.Name));
            if (!PassThru) WriteObject(report);
        }

        private static OpenBsdBuildException AsEngineError(Exception error, string instanceId) => error as OpenBsdBuildException ??
            new OpenBsdBuildException("HostNotRemoved", FailureKind.ResourceUnavailable, $"Host {instanceId} could not be terminated: {error.Message}", instanceId,
                $"Run Remove-MetalHost -InstanceId {instanceId} again, or Get-MetalHost -Orphaned | Remove-MetalHost.", error);

        /// <summary>The host behind a host, guest or build result (Disconnect-MetalHost takes the same input).</summary>
        internal static MetalHost? Resolve(object input) => input switch
        {
            MetalHost h => h,
            OpenBsdGuest g => g.Host,
            GuestBuildResult r => r.Host,
            _ => null,
        };
    }
}
