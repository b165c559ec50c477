using System;
using System.Management.Automation;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Powers a guest off (ACPI, then kill after a grace period) and deletes its overlay and files.</summary>
    [Cmdlet(VerbsLifecycle.Stop, "OpenBsdGuest", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(OpenBsdGuest))]
    public sealed class StopOpenBsdGuestCommand : OpenBsdBuildCmdlet
    {
        [Parameter(Mandatory = true, ValueFromPipeline = true, Position = 0)]
        [ValidateNotNull]
        public OpenBsdGuest[] Guest { get; set; } = null!;

        /// <summary>How long the guest gets to power off by itself before it is killed.</summary>
        [Parameter]
        public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>Kill at once, without asking the guest to power off.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void BeginProcessing()
        {
            if (GracePeriod < TimeSpan.Zero || GracePeriod > TimeSpan.FromHours(1))
                ThrowBadParameter(nameof(GracePeriod), GracePeriod, "must be between 0 and 1 hour.", "Pass e.g. -GracePeriod (New-TimeSpan -Seconds 30).");
        }

        protected override void ProcessRecord()
        {
            foreach (var guest in Guest)
            {
                if (!ShouldProcess($"{guest.Name} on {guest.HostName}", "Stop guest and delete its overlay")) continue;
                try
                {
                    var outcome = RunEngine((r, ct) => GuestControl.StopAsync(guest, Force ? TimeSpan.Zero : GracePeriod, r, ct));
                    WriteVerbose($"Guest {guest.Name}: {outcome}");
                    if (PassThru) WriteObject(guest);
                }
                catch (OpenBsdBuildException ex)
                {
                    WriteEngineError(ex, guest);
                }
            }
        }
    }
}
