using System;
using System.Management.Automation;
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
    /// Lets go of a host without destroying it: powers off the guests this session started on it, deletes their files
    /// and closes the connection. The machine itself is kept; an EC2 host keeps running (and billing) until its
    /// self-destruct, which is what Remove-MetalHost is for.
    /// </summary>
    [Cmdlet(VerbsCommunications.Disconnect, "MetalHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(MetalHost), typeof(OpenBsdGuest), typeof(GuestBuildResult))]
    public sealed class DisconnectMetalHostCommand : OpenBsdBuildCmdlet
    {
        /// <summary>A MetalHost, or a guest or build result of one.</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true, Position = 0)]
        [ValidateNotNull]
        public object InputObject { get; set; } = null!;

        /// <summary>How long each guest gets to power off before it is killed.</summary>
        [Parameter]
        public TimeSpan GuestGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>Pass the input object on (e.g. the build result at the end of a pipeline).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void BeginProcessing()
        {
            ParameterBinding.ValidateGracePeriod(this, nameof(GuestGracePeriod), GuestGracePeriod);
        }

        protected override void ProcessRecord()
        {
            object input = InputObject is PSObject ps ? ps.BaseObject : InputObject;
            MetalHost? host = RemoveMetalHostCommand.Resolve(input);
            if (host == null)
            {
                ThrowEngineError(new OpenBsdBuildException("NotAHost", FailureKind.InvalidArgument,
                    $"Disconnect-MetalHost takes a MetalHost, an OpenBsdGuest or a GuestBuildResult, not {input.GetType().Name}.",
                    input, "Pipe the output of Connect-MetalHost, New-MetalHost, Start-OpenBsdGuest or Invoke-GuestBuild."));
                return;
            }
            if (host.State == HostState.Removed || host.State == HostState.Disconnected) // several results of one host in the same pipeline
            {
                if (PassThru) WriteObject(InputObject);
                return;
            }
            if (!ShouldProcess(host.Name, "Stop the guests started on it and disconnect (the machine itself is kept)")) return;

            // Only the guests end; the host is let go of here, never terminated.
            var options = new HostTeardownOptions { GuestGracePeriod = GuestGracePeriod, GuestsOnly = true };
            WriteGuestStops(RunEngine((r, ct) => HostTeardown.StopGuestsAsync(host, options, r, ct)));
            host.Shell.Dispose();
            host.State = HostState.Disconnected;
            HostRegistry.Remove(host);
            if (host.Provider == HostProvider.Ec2 && host.InstanceId != null)
                WriteWarning($"{host.InstanceId} keeps running, and billing, until its self-destruct" +
                             (host.ExpiresAt.HasValue ? $" at {host.ExpiresAt.Value:u}" : "") +
                             $". To end it now: Remove-MetalHost -InstanceId {host.InstanceId} -Region {host.Region}.");
            WriteVerbose($"Disconnected from {host.Name} after {Units.Duration(host.Age)}.");
            if (PassThru) WriteObject(InputObject);
        }
    }
}
