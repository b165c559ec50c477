using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Lists the guests on a host (or on every host attached in this session), including ones other sessions left running.</summary>
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
            IEnumerable<MetalHost> hosts = MetalHost ?? (IEnumerable<MetalHost>)HostRegistry.All;
            var patterns = Name.Select(n => new WildcardPattern(n, WildcardOptions.IgnoreCase)).ToList();
            foreach (var host in hosts.Where(h => h.State != "Removed"))
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
