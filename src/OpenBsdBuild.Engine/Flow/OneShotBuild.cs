using System;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Flow
{
    /// <summary>What Invoke-OpenBsdBuild was asked for: a host to use or one to launch, a guest, a build.</summary>
    public sealed class OneShotRequest
    {
        /// <summary>An attached host to use (never ended, only its guest); null launches an EC2 metal host.</summary>
        public MetalHost? Host { get; set; }
        public AwsConnectionOptions? Aws { get; set; }
        public LaunchRequest? Launch { get; set; }
        /// <summary>The checked plan for <see cref="Launch"/> (made before -WhatIf is asked).</summary>
        public LaunchPlan? Plan { get; set; }
        public GuestOptions Guest { get; set; } = new GuestOptions();
        public BuildSpec Build { get; set; } = new BuildSpec();
        /// <summary>On failure (not on Ctrl+C), leave host and guest running for debugging; the host's self-destruct stays armed.</summary>
        public bool KeepHostOnFailure { get; set; }
        /// <summary>The native road: <see cref="Launch"/> is an OpenBSD AMI, and the instance itself is built on (no guest).</summary>
        public bool Native { get; set; }
    }

    /// <summary>How the one-shot flow ended, beyond the build result.</summary>
    public sealed class OneShotOutcome
    {
        public GuestBuildResult? Result { get; internal set; }
        public TeardownReport? Teardown { get; internal set; }
        /// <summary>Teardown went wrong after a successful build: the result stands, but something may still be running.</summary>
        public OpenBsdBuildException? TeardownError { get; internal set; }
    }

    /// <summary>
    /// Host, guest, build, artifacts, teardown in one call. Everything made here is ended here —
    /// after success, failure, an exception or Ctrl+C — by the same engine pieces the separate
    /// cmdlets use. A killed client is covered by the host's self-destruct, armed at boot.
    /// </summary>
    public static class OneShotBuild
    {
        public const string Activity = "Invoke-OpenBsdBuild";

        /// <summary>How long the clean-up may take when nothing answers (a dead link must not hang Ctrl+C).</summary>
        internal static readonly TimeSpan TeardownBound = TimeSpan.FromSeconds(60);

        public static async Task<OneShotOutcome> RunAsync(OneShotRequest request, IOperationReporter reporter, CancellationToken ct)
        {
            var outcome = new OneShotOutcome();
            OpenBsdInstance? instance = request.Native ? await LaunchInstanceAsync(request, reporter, ct).ConfigureAwait(false) : null;
            MetalHost host = instance?.Host ?? request.Host ?? await LaunchHostAsync(request, reporter, ct).ConfigureAwait(false);
            bool launched = request.Host == null;
            OpenBsdGuest? guest = null;
            bool keep = false, lost = false;
            try
            {
                if (instance != null)
                {
                    // The instance is the build machine: nothing to start, and terminating it ends everything.
                    reporter.Progress(Activity, $"Building on {instance.InstanceId}");
                    outcome.Result = await BuildRunner.RunAsync(instance, request.Build, reporter, ct).ConfigureAwait(false);
                    return outcome;
                }
                var guestOptions = request.Guest;
                if (launched && host.GoldenImagePath != null && string.IsNullOrEmpty(guestOptions.Image))
                    guestOptions.Image = host.GoldenImagePath;
                reporter.Progress(Activity, $"Starting a guest on {host.Name}");
                guest = await GuestLauncher.StartAsync(host, guestOptions, reporter, ct).ConfigureAwait(false);
                reporter.Progress(Activity, $"Building on {guest.Name}");
                outcome.Result = await BuildRunner.RunAsync(guest, request.Build, reporter, ct).ConfigureAwait(false);
                return outcome;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException) && !ct.IsCancellationRequested)
            {
                lost = ex is OpenBsdBuildException { ErrorId: "GuestLost" } || ex is OpenBsdBuildException { ErrorId: "ConnectionLost" };
                var interrupted = launched ? await InterruptionAsync(host, ex).ConfigureAwait(false) : null;
                if (interrupted != null) throw interrupted;
                if (request.KeepHostOnFailure)
                {
                    keep = true;
                    reporter.Warning(KeptMessage(host, guest ?? instance));
                }
                throw;
            }
            finally
            {
                reporter.ProgressDone(Activity);
                // A launched host that could not be reached: terminating it ends the guest, so don't wait on the dead link first.
                if (launched && lost && guest != null)
                {
                    guest.Shell?.Dispose();
                    guest.Shell = null;
                    guest = null;
                }
                if (!keep) await TeardownAsync(host, launched, guest, outcome, reporter).ConfigureAwait(false);
            }
        }

        private static async Task<OpenBsdInstance> LaunchInstanceAsync(OneShotRequest request, IOperationReporter reporter, CancellationToken ct)
        {
            if (request.Aws == null || request.Launch == null)
                throw new ArgumentException("An EC2 launch needs the connection and the launch request.", nameof(request));
            reporter.Progress(Activity, "Launching an OpenBSD instance");
            return await NativeInstanceLauncher.LaunchAsync(request.Aws, request.Launch, reporter, ct, request.Plan).ConfigureAwait(false);
        }

        private static async Task<MetalHost> LaunchHostAsync(OneShotRequest request, IOperationReporter reporter, CancellationToken ct)
        {
            if (request.Aws == null || request.Launch == null)
                throw new ArgumentException("An EC2 launch needs the connection and the launch request.", nameof(request));
            reporter.Progress(Activity, "Launching an EC2 metal host");
            return await Ec2HostLauncher.LaunchAsync(request.Aws, request.Launch, reporter, ct, request.Plan).ConfigureAwait(false);
        }

        /// <summary>
        /// Ends what this call made, never the caller's token: a Ctrl+C must still clean up. The
        /// guest is killed without a grace period because its overlay is thrown away anyway.
        /// </summary>
        private static async Task TeardownAsync(MetalHost host, bool launched, OpenBsdGuest? guest, OneShotOutcome outcome, IOperationReporter reporter)
        {
            using var bound = new CancellationTokenSource(TeardownBound);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await EndAsync(host, launched, guest, outcome, reporter, bound.Token).ConfigureAwait(false);
            }
            finally
            {
                reporter.Verbose("Clean-up took " + clock.Elapsed.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " s.");
            }
        }

        private static async Task EndAsync(MetalHost host, bool launched, OpenBsdGuest? guest, OneShotOutcome outcome, IOperationReporter reporter, CancellationToken bound)
        {
            var options = new HostTeardownOptions
            {
                Guests = guest == null ? Array.Empty<OpenBsdGuest>() : new[] { guest },
                GuestsOnly = !launched,
                Bounded = true,
            };
            if (guest != null) reporter.Progress(Activity, $"Stopping guest {guest.Name}");
            var ended = await HostTeardown.StopGuestsAsync(host, options, reporter, bound).ConfigureAwait(false);
            foreach (var (stuck, ex) in ended.NotStopped)
            {
                if (ended.Terminating) reporter.Verbose($"Guest {stuck.Name} could not be stopped ({ex.Message}); terminating its host ends it.");
                else Record(outcome, reporter, new OpenBsdBuildException("GuestNotStopped", FailureKind.ResourceUnavailable,
                    $"Guest {stuck.Name} on {host.Name} could not be stopped: {ex.Message}", stuck,
                    "Stop it with Get-OpenBsdGuest -Name " + stuck.Name + " | Stop-OpenBsdGuest once the host is reachable.", ex));
            }
            if (ended.Terminating) reporter.Progress(Activity, $"Terminating {host.InstanceId}");
            await HostTeardown.EndHostAsync(ended, options, reporter, bound).ConfigureAwait(false);
            outcome.Teardown = ended.Teardown;
            if (ended.Teardown != null) reporter.Verbose($"Removed {ended.Teardown}.");
            if (ended.TerminationError is Exception failed)
                Record(outcome, reporter, new OpenBsdBuildException("HostNotRemoved", FailureKind.ResourceUnavailable,
                    $"Host {host.InstanceId} could not be terminated: {failed.Message}. It ends itself at {host.ExpiresAt:u} at the latest.", host.InstanceId,
                    $"Run Remove-MetalHost -InstanceId {host.InstanceId} -Region {host.Region}, or Get-MetalHost -Orphaned | Remove-MetalHost.", failed));
        }

        /// <summary>
        /// A failure on a launched host may be the host itself going away (a spot interruption, a
        /// self-destruct, someone terminating it): ask EC2, briefly, and say so instead of blaming the build.
        /// </summary>
        private static async Task<OpenBsdBuildException?> InterruptionAsync(MetalHost host, Exception failure)
        {
            if (host.InstanceId == null || host.Ec2 == null) return null;
            try
            {
                using var ask = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                using var aws = Ec2Connection.Open(host.Ec2.Connection);
                var instance = await InstanceWaiter.DescribeAsync(aws.Ec2, host.InstanceId, ask.Token).ConfigureAwait(false);
                string? state = instance?.State?.Name?.Value;
                if (instance == null || state == "running" || state == "pending") return null;
                host.InstanceState = state;
                string reason = instance.StateReason?.Message is string why && why.Length > 0 ? why : instance.StateTransitionReason ?? "no reason given";
                string message = $"Host {host.InstanceId} was {state} underneath the build ({reason}){(host.Spot ? "; it was a spot instance, which EC2 may reclaim at any time" : "")}. " +
                                 $"What the build was doing: {failure.Message}";
                string action = host.Spot ? "Run again, or without -Spot (or with -SpotFallbackToOnDemand) when the build cannot be interrupted."
                                          : "Check who or what ended the instance (CloudTrail); the host's self-destruct fires after -MaxLifetime.";
                return failure is BuildFailedException built
                    ? new BuildFailedException("HostInterrupted", FailureKind.ResourceUnavailable, message, built.Result, action, failure)
                    : new OpenBsdBuildException("HostInterrupted", FailureKind.ResourceUnavailable, message, host.InstanceId, action, failure);
            }
            catch (Exception)
            {
                return null; // EC2 does not answer either: the original failure says what is known
            }
        }

        private static void Record(OneShotOutcome outcome, IOperationReporter reporter, OpenBsdBuildException problem)
        {
            reporter.Warning(problem.Message + " " + problem.RecommendedAction);
            outcome.TeardownError ??= problem;
        }

        private static string KeptMessage(MetalHost host, OpenBsdGuest? guest)
        {
            string where = host.InstanceId != null
                ? $"Host {host.InstanceId} ({host.PublicIpAddress}) is kept; it ends itself at {host.ExpiresAt:u}. Remove it with: Remove-MetalHost -InstanceId {host.InstanceId} -Region {host.Region}"
                : $"Host {host.Name} is kept.";
            if (guest is OpenBsdInstance)
                return $"{where}. Reach it with: {SshCommandLine.ToGuest(guest)} (host key {guest.HostKeyFingerprint})";
            if (guest == null)
                return where + (host.HostName == null ? "" : $". Reach the host with: {SshCommandLine.ToHost(host)} (host key {host.HostKeyFingerprint})");
            return $"{where}. Guest {guest.Name} is kept running; reach it with: {SshCommandLine.ToGuest(guest)} (guest host key {guest.HostKeyFingerprint})";
        }
    }
}
