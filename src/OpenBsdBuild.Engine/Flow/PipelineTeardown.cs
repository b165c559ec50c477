using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Ec2;
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
        public static TimeSpan Bound { get; set; } = TimeSpan.FromSeconds(60);

        /// <summary>Terminating an EC2 host ends its guests too: a guest that does not stop quickly is left to that.</summary>
        private static readonly TimeSpan GuestStopBoundOnEc2 = TimeSpan.FromSeconds(10);

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
            using (var guestBound = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                guestBound.CancelAfter(host.InstanceId != null ? GuestStopBoundOnEc2 : Bound);
                try
                {
                    var stopped = await GuestControl.StopAllAsync(host.Guests, TimeSpan.Zero, reporter, guestBound.Token).ConfigureAwait(false);
                    foreach (var s in stopped.Where(s => s.Error != null))
                        GuestNotStopped(host, $"Guest {s.Guest.Name} on {host.Name} could not be stopped: {s.Error!.Message}");
                }
                catch (OperationCanceledException)
                {
                    GuestNotStopped(host, $"The guests on {host.Name} did not stop in time");
                }
            }
            void GuestNotStopped(MetalHost on, string what)
            {
                if (on.InstanceId != null) reporter.Verbose(what + "; terminating its host ends it.");
                else problems.Add(what + ". Stop it with Get-OpenBsdGuest | Stop-OpenBsdGuest once the host answers.");
            }
            host.Shell.Dispose();
            if (host.InstanceId == null || host.Ec2 == null) return problems;
            try
            {
                var report = await Ec2Teardown.RemoveAsync(host.Ec2.Connection, host.InstanceId, false, host.PricePerHour, reporter, ct).ConfigureAwait(false);
                host.InstanceState = report.State;
                host.State = HostState.Removed;
                host.Ec2.EphemeralKey?.Dispose();
                reporter.Verbose($"Removed {report}.");
            }
            catch (Exception ex)
            {
                problems.Add($"Host {host.InstanceId} could not be terminated: {ex.Message}. It ends itself at {host.ExpiresAt:u} at the latest; " +
                             $"remove it with: Remove-MetalHost -InstanceId {host.InstanceId} -Region {host.Region}");
            }
            return problems;
        }
    }
}
