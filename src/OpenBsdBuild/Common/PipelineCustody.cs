using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// What one invocation of a creating cmdlet (New-MetalHost, Start-OpenBsdGuest) made, held
    /// until its pipeline ends. A pipeline that completes hands everything over to the user; one
    /// that ends abnormally (stopped, a terminating error anywhere, -ErrorAction Stop, a throwing
    /// script block) gets what it made ended. A host that a later stage failed on and no stage
    /// passed on is ended too, since nothing in the pipeline's output leads to it.
    /// The rules and their tests: docs/reliability.md.
    /// </summary>
    internal sealed class PipelineCustody
    {
        private sealed class Entry
        {
            public Entry(PipelineCustody owner) => Owner = owner;
            public PipelineCustody Owner { get; }
            public bool Dropped { get; set; }
            public bool PassedOn { get; set; }
        }

        // Keyed by the object itself, so any stage can mark a host it got without knowing who made it.
        private static readonly ConditionalWeakTable<object, Entry> Held = new ConditionalWeakTable<object, Entry>();

        // What a command with -KeepOnFailure made: an attached host with such a guest on it stays attached, so Get-OpenBsdGuest still finds the guest.
        private static readonly ConditionalWeakTable<object, object> Kept = new ConditionalWeakTable<object, object>();

        private readonly List<object> _made = new List<object>();

        public bool IsEmpty => _made.Count == 0;

        public void Take(object made, bool keepOnFailure)
        {
            _made.Add(made);
            Held.Remove(made);
            Held.Add(made, new Entry(this));
            Kept.Remove(made);
            if (keepOnFailure) Kept.Add(made, made);
        }

        /// <summary>Made by a command with -KeepOnFailure.</summary>
        public static bool IsKept(object made) => Kept.TryGetValue(made, out _);

        /// <summary>Made by a command with -KeepOnFailure whose pipeline is still running (custody ends with the pipeline).</summary>
        public static bool IsKeptByRunningPipeline(object made) => Held.TryGetValue(made, out _) && IsKept(made);

        /// <summary>A stage could not use <paramref name="host"/> and wrote nothing that leads to it.</summary>
        public static void Dropped(MetalHost host)
        {
            if (Held.TryGetValue(host, out var e)) e.Dropped = true;
        }

        /// <summary>A stage wrote something that leads to <paramref name="host"/> (e.g. a guest on it).</summary>
        public static void PassedOn(MetalHost host)
        {
            if (Held.TryGetValue(host, out var e)) e.PassedOn = true;
        }

        /// <summary>Ends custody: returns what must be ended, still alive, and forgets everything.</summary>
        public (IReadOnlyList<MetalHost> Hosts, IReadOnlyList<OpenBsdGuest> Guests) Release(bool pipelineFailed)
        {
            var hosts = new List<MetalHost>();
            var guests = new List<OpenBsdGuest>();
            foreach (object made in _made)
            {
                bool end = pipelineFailed || (Held.TryGetValue(made, out var e) && e.Owner == this && e.Dropped && !e.PassedOn);
                Held.Remove(made);
                if (!end) continue;
                if (made is MetalHost h && h.State != HostState.Removed && h.State != HostState.Disconnected) hosts.Add(h);
                if (made is OpenBsdGuest g && g.State != GuestState.Stopped && g.Host.State != HostState.Removed) guests.Add(g);
            }
            _made.Clear();
            return (hosts, guests.Where(g => !hosts.Contains(g.Host)).ToList());
        }
    }
}
