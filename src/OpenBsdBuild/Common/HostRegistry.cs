using System.Collections.Generic;
using System.Linq;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Common
{
    /// <summary>Hosts attached in this process, so Get-OpenBsdGuest with no input can look at all of them.</summary>
    internal static class HostRegistry
    {
        private static readonly List<MetalHost> Hosts = new List<MetalHost>();

        public static void Add(MetalHost host)
        {
            lock (Hosts) Hosts.Add(host);
        }

        public static void Remove(MetalHost host)
        {
            lock (Hosts) Hosts.Remove(host);
        }

        public static IReadOnlyList<MetalHost> All
        {
            get { lock (Hosts) return Hosts.ToList(); }
        }
    }
}
