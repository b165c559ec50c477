using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Hosts;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Lists the guests on a host (or on every host attached in this session, and this machine), including ones other sessions left running.</summary>
    [Cmdlet(VerbsCommon.Get, "OpenBsdGuest")]
    [OutputType(typeof(OpenBsdGuest))]
    public sealed class GetOpenBsdGuestCommand : OpenBsdBuildCmdlet
    {
        [Parameter(ValueFromPipeline = true)]
        public MetalHost[]? MetalHost { get; set; }

        [Parameter(Position = 0)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(GuestNameCompleter))]
        public string[] Name { get; set; } = new[] { "*" };

        protected override void ProcessRecord()
        {
            var hosts = (MetalHost ?? (IEnumerable<MetalHost>)HostRegistry.All).Where(h => h.State != HostState.Removed && h.State != HostState.Disconnected).ToList();
            // Without -MetalHost this machine is always looked at too, attached or not: guests another session or process
            // started here are still running, and a user asking "what runs?" expects to see them.
            MetalHost? thisMachine = MetalHost == null && !hosts.Any(h => h.Provider == HostProvider.Local) && !IsWindows ? ConnectThisMachine() : null;
            if (thisMachine != null) hosts.Add(thisMachine); // not attached: its guests' Host, for Stop-OpenBsdGuest
            List(hosts);
        }

        private static bool IsWindows => System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Windows);

        private MetalHost? ConnectThisMachine()
        {
            try { return RunEngine((r, ct) => HostConnector.ConnectLocalAsync(null, r, ct)); }
            catch (OpenBsdBuildException ex)
            {
                WriteVerbose($"Not listing guests on this machine: {ex.Message}");
                return null;
            }
        }

        private void List(IEnumerable<MetalHost> hosts)
        {
            var patterns = Name.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
            foreach (var host in hosts)
            {
                try
                {
                    foreach (var guest in RunEngine((r, ct) => GuestControl.ListAsync(host, ct)))
                        if (patterns.Any(p => p.IsMatch(guest.Name))) WriteObject(guest);
                }
                catch (OpenBsdBuildException ex)
                {
                    WriteEngineError(ex, host);
                }
            }
        }
    }
}
