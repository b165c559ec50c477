using System;
using System.Management.Automation;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>
    /// Ends a host: powers off its guests, deletes their files, closes connections. Accepts a
    /// host, a guest or a build result and always finds the host. Attached machines (local,
    /// SSH) are never destroyed, only released.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "MetalHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    public sealed class RemoveMetalHostCommand : OpenBsdBuildCmdlet
    {
        [Parameter(Mandatory = true, ValueFromPipeline = true, Position = 0)]
        [ValidateNotNull]
        public object InputObject { get; set; } = null!;

        /// <summary>How long each guest gets to power off before it is killed.</summary>
        [Parameter]
        public TimeSpan GuestGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>Pass the input object on after the host is gone (e.g. the build result at the end of a pipeline).</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            MetalHost? host = Resolve(InputObject);
            if (host == null)
            {
                ThrowEngineError(new OpenBsdBuildException("NotAHost", FailureKind.InvalidArgument,
                    $"Remove-MetalHost takes a MetalHost, an OpenBsdGuest or a GuestBuildResult, not {InputObject.GetType().Name}.",
                    InputObject, "Pipe the output of Connect-MetalHost, Start-OpenBsdGuest or Invoke-GuestBuild."));
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
            host.State = "Removed";
            HostRegistry.Remove(host);
            WriteVerbose($"Released host {host.Name} after {host.Age:hh\\:mm\\:ss}.");
            if (PassThru) WriteObject(InputObject);
        }

        private static MetalHost? Resolve(object input) => (input is PSObject ps ? ps.BaseObject : input) switch
        {
            MetalHost h => h,
            OpenBsdGuest g => g.Host,
            GuestBuildResult r => r.Host,
            _ => null,
        };
    }
}
