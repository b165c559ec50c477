using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Flow
{
    /// <summary>What ending one host is asked to do.</summary>
    public sealed class HostTeardownOptions
    {
        /// <summary>The guests to stop; null stops every guest started on the host.</summary>
        public IReadOnlyList<OpenBsdGuest>? Guests { get; set; }

        /// <summary>How long each guest gets to power off before it is killed; zero kills at once (its overlay is thrown away anyway).</summary>
        public TimeSpan GuestGracePeriod { get; set; } = TimeSpan.Zero;

        /// <summary>Stop the guests and keep the host (an attached host Invoke-OpenBsdBuild was given).</summary>
        public bool GuestsOnly { get; set; }

        /// <summary>Where an EC2 host is terminated; null: where it was launched (a host without that is not terminated).</summary>
        public AwsConnectionOptions? Aws { get; set; }

        /// <summary>Wait until EC2 reports the instance terminated (metal can take many minutes).</summary>
        public bool WaitForTermination { get; set; }

        /// <summary>
        /// The caller's token is a time bound (the end of a pipeline, a one-shot build's clean-up), not a Ctrl+C:
        /// when it fires, what is left undone is a failure in the result, not an exception. Guests on an EC2 host
        /// then get only <see cref="HostTeardown.GuestStopBoundBeforeTermination"/>: terminating ends them anyway.
        /// </summary>
        public bool Bounded { get; set; }
    }

    /// <summary>How a host was ended, for the caller to report in its own way.</summary>
    public sealed class HostTeardownResult
    {
        internal HostTeardownResult(MetalHost host, bool terminating)
        {
            Host = host;
            Terminating = terminating;
        }

        public MetalHost Host { get; }

        /// <summary>The host is an EC2 instance being terminated: a guest that did not stop ends with it.</summary>
        public bool Terminating { get; }

        /// <summary>Each guest that stopped, with how.</summary>
        public List<(OpenBsdGuest Guest, GuestControl.StopOutcome Outcome)> Stopped { get; } = new List<(OpenBsdGuest, GuestControl.StopOutcome)>();

        /// <summary>Each guest that could not be stopped, with why.</summary>
        public List<(OpenBsdGuest Guest, Exception Error)> NotStopped { get; } = new List<(OpenBsdGuest, Exception)>();

        /// <summary>The bound cut the guests' stop short: every guest not yet stopped is in <see cref="NotStopped"/> with the cancellation.</summary>
        public bool GuestStopCut { get; internal set; }

        /// <summary>What EC2 ended (instance, key pair, security group), when the host was terminated.</summary>
        public TeardownReport? Teardown { get; internal set; }

        /// <summary>Why the EC2 host could not be terminated; it still ends itself at its self-destruct.</summary>
        public Exception? TerminationError { get; internal set; }
    }

    /// <summary>
    /// The one way a host is ended, for Remove-MetalHost, Invoke-OpenBsdBuild's clean-up and a pipeline that
    /// ended abnormally: stop its guests together, close its connection, and terminate an EC2 host with the key
    /// pair and security group made for it. An attached machine (local, SSH) is only let go of.
    /// </summary>
    public static class HostTeardown
    {
        /// <summary>In a bounded teardown, terminating an EC2 host ends its guests too: a guest that does not stop quickly is left to that.</summary>
        public static readonly TimeSpan GuestStopBoundBeforeTermination = TimeSpan.FromSeconds(10);

        /// <summary>Guests, then the host: <see cref="StopGuestsAsync"/>, then <see cref="EndHostAsync"/>.</summary>
        public static async Task<HostTeardownResult> EndAsync(MetalHost host, HostTeardownOptions options, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var result = await StopGuestsAsync(host, options, reporter, cancellationToken).ConfigureAwait(false);
            await EndHostAsync(result, options, reporter, cancellationToken).ConfigureAwait(false);
            return result;
        }

        /// <summary>
        /// Stops the guests together (each stop is one script on the host); every guest gets its chance even when
        /// another fails. The first step of every teardown: a caller that reports each guest before the host is
        /// ended (Remove-MetalHost) passes the result on to <see cref="EndHostAsync"/> itself.
        /// </summary>
        public static async Task<HostTeardownResult> StopGuestsAsync(MetalHost host, HostTeardownOptions options, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            bool terminating = !options.GuestsOnly && host.InstanceId != null && (options.Aws ?? host.Ec2?.Connection) != null;
            var result = new HostTeardownResult(host, terminating);
            var guests = (options.Guests ?? host.Guests).ToList();
            if (guests.Count == 0) return result;
            using var guestBound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            if (options.Bounded && terminating) guestBound.CancelAfter(GuestStopBoundBeforeTermination);
            try
            {
                foreach (var (guest, outcome, error) in await GuestControl.StopAllAsync(guests, options.GuestGracePeriod, reporter, guestBound.Token).ConfigureAwait(false))
                {
                    if (error != null) result.NotStopped.Add((guest, error));
                    else result.Stopped.Add((guest, outcome!.Value));
                }
            }
            catch (OperationCanceledException ex) when (options.Bounded || !cancellationToken.IsCancellationRequested)
            {
                result.GuestStopCut = true;
                foreach (var guest in guests.Where(g => g.State != GuestState.Stopped)) result.NotStopped.Add((guest, ex));
            }
            return result;
        }

        /// <summary>
        /// Closes the host's connection and terminates an EC2 host (its key pair and security group with it); the
        /// host is Removed once EC2 has let go of it. A failure to terminate is in the result; only a Ctrl+C throws.
        /// </summary>
        public static async Task EndHostAsync(HostTeardownResult result, HostTeardownOptions options, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            if (options.GuestsOnly) return;
            var host = result.Host;
            host.Shell.Dispose();
            var aws = options.Aws ?? host.Ec2?.Connection;
            if (host.InstanceId == null || aws == null) return;
            try
            {
                result.Teardown = await Ec2Teardown.RemoveAsync(aws, host.InstanceId, options.WaitForTermination, host.PricePerHour, reporter, cancellationToken).ConfigureAwait(false);
                host.InstanceState = result.Teardown.State;
                host.State = HostState.Removed;
                host.Ec2?.EphemeralKey?.Dispose();
            }
            catch (Exception ex) when (options.Bounded || !cancellationToken.IsCancellationRequested)
            {
                result.TerminationError = ex;
            }
        }
    }
}
