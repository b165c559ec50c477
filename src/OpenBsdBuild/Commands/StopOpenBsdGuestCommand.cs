using System;
using System.Collections.Generic;
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

        /// <summary>
        /// How long the guest gets to power off by itself before it is killed. Default 0: a guest's
        /// disk is a throwaway overlay, so nothing on it needs a clean shutdown.
        /// </summary>
        [Parameter]
        public TimeSpan GracePeriod { get; set; } = TimeSpan.Zero;

        /// <summary>Kill at once, without asking the guest to power off.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        private readonly List<OpenBsdGuest> _guests = new List<OpenBsdGuest>();

        protected override void BeginProcessing()
        {
            ParameterBinding.ValidateGracePeriod(this, nameof(GracePeriod), GracePeriod);
        }

        protected override void ProcessRecord()
        {
            foreach (var guest in Guest)
                if (ShouldProcess($"{guest.Name} on {guest.HostName}", "Stop guest and delete its overlay")) _guests.Add(guest);
        }

        /// <summary>All guests stop together: one does not wait for another's grace period.</summary>
        protected override void EndProcessing()
        {
            if (_guests.Count == 0) return;
            var stopped = RunEngine((r, ct) => GuestControl.StopAllAsync(_guests, Force ? TimeSpan.Zero : GracePeriod, r, ct));
            foreach (var s in stopped)
            {
                if (s.Error is OpenBsdBuildException ex) { WriteEngineError(ex, s.Guest); continue; }
                if (s.Error != null)
                {
                    WriteEngineError(new OpenBsdBuildException("GuestNotStopped", FailureKind.ResourceUnavailable,
                        $"Guest {s.Guest.Name} could not be stopped: {s.Error.Message}", s.Guest, "Try again once its host answers.", s.Error), s.Guest);
                    continue;
                }
                WriteVerbose($"Guest {s.Guest.Name}: {s.Outcome}");
                if (PassThru) WriteObject(s.Guest);
            }
        }
    }
}
