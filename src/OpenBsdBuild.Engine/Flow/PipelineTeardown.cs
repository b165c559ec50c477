using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Flow
{
    /// <summary>
    /// Ends what a pipeline made when the pipeline itself ended abnormally (stopped, threw) before
    /// anyone downstream took it: guests are killed at once (their overlay is thrown away anyway),
    /// EC2 hosts are terminated with their key pair and security group. See docs/reliability.md.
    /// </summary>
    public static class PipelineTeardown
    {
        /// <summary>How long the whole clean-up may take when nothing answers (it runs while PowerShell disposes the pipeline).</summary>
        private static readonly TimeSpan Bound = OneShotBuild.TeardownBound;

        /// <summary>Ends <paramref name="hosts"/> (with their guests) and <paramref name="guests"/>; never throws.</summary>
        /// <returns>One line for each thing that could not be ended, saying how to end it by hand.</returns>
        public static async Task<IReadOnlyList<string>> EndAsync(IReadOnlyList<MetalHost> hosts, IReadOnlyList<OpenBsdGuest> guests, IOperationReporter reporter)
        {
            using var bound = new CancellationTokenSource(Bound);
            var problems = new List<string>();
            var ends = hosts.Select(h => EndHostAsync(h, reporter, bound.Token))
                .Concat(new[] { EndGuestsAsync(guests.Where(g => !hosts.Contains(g.Host)).ToList(), reporter, bound.Token) });
            foreach (var found in await Task.WhenAll(ends).ConfigureAwait(false)) problems.AddRange(found);
            return problems;
        }

        /// <summary>
        /// Lets go of attached <paramref name="hosts"/> (the user's machines): stops the guests started on them, closes the
        /// connection and marks them Disconnected, as Disconnect-MetalHost does; never terminates anything, never throws.
        /// </summary>
        /// <returns>The guests stopped, and one line for each guest that could not be, saying how to stop it by hand.</returns>
        public static async Task<(IReadOnlyList<string> Stopped, IReadOnlyList<string> Problems)> DisconnectAsync(IReadOnlyList<MetalHost> hosts, IOperationReporter reporter)
        {
            using var bound = new CancellationTokenSource(Bound);
            var ended = await Task.WhenAll(hosts.Select(h => DisconnectAsync(h, reporter, bound.Token))).ConfigureAwait(false);
            return (ended.SelectMany(e => e.Stopped.Select(s => s.Guest.Name)).ToList(),
                ended.SelectMany(e => e.NotStopped.Select(s => $"Guest {s.Guest.Name} on {e.Host.Name} could not be stopped: {s.Error.Message}. " +
                                                               $"Once the host answers: Connect-MetalHost … | Get-OpenBsdGuest -Name {s.Guest.Name} | Stop-OpenBsdGuest")).ToList());
        }

        private static async Task<HostTeardownResult> DisconnectAsync(MetalHost host, IOperationReporter reporter, CancellationToken ct)
        {
            var ended = await HostTeardown.StopGuestsAsync(host, new HostTeardownOptions { GuestsOnly = true, Bounded = true }, reporter, ct).ConfigureAwait(false);
            host.Shell.Dispose();
            host.State = HostState.Disconnected;
            return ended;
        }

        private static async Task<IReadOnlyList<string>> EndGuestsAsync(IReadOnlyList<OpenBsdGuest> guests, IOperationReporter reporter, CancellationToken ct)
        {
            IReadOnlyList<(OpenBsdGuest Guest, GuestControl.StopOutcome? Outcome, Exception? Error)> stopped;
            try { stopped = await GuestControl.StopAllAsync(guests, TimeSpan.Zero, reporter, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return new[] { $"Guests {string.Join(", ", guests.Select(g => g.Name))} did not stop within {Bound.TotalSeconds:0} s; stop them with Stop-OpenBsdGuest." }; }
            return stopped.Where(s => s.Error != null)
                .Select(s => $"Guest {s.Guest.Name} on {s.Guest.HostName} could not be stopped: {s.Error!.Message}. Stop it with: Get-OpenBsdGuest -Name {s.Guest.Name} | Stop-OpenBsdGuest")
                .ToList();
        }

        private static async Task<IReadOnlyList<string>> EndHostAsync(MetalHost host, IOperationReporter reporter, CancellationToken ct)
        {
            var problems = new List<string>();
            var ended = await HostTeardown.EndAsync(host, new HostTeardownOptions { Bounded = true }, reporter, ct).ConfigureAwait(false);
            var stuck = ended.GuestStopCut
                ? new[] { $"The guests on {host.Name} did not stop in time" }
                : ended.NotStopped.Select(s => $"Guest {s.Guest.Name} on {host.Name} could not be stopped: {s.Error.Message}");
            foreach (string what in stuck)
            {
                if (ended.Terminating) reporter.Verbose(what + "; terminating its host ends it.");
                else problems.Add(what + ". Stop it with Get-OpenBsdGuest | Stop-OpenBsdGuest once the host answers.");
            }
            if (ended.Teardown != null) reporter.Verbose($"Removed {ended.Teardown}.");
            if (ended.TerminationError != null)
                problems.Add($"Host {host.InstanceId} could not be terminated: {ended.TerminationError.Message}. It ends itself at {host.ExpiresAt:u} at the latest; " +
                             $"remove it with: Remove-MetalHost -InstanceId {host.InstanceId} -Region {host.Region}");
            return problems;
        }
    }
}
