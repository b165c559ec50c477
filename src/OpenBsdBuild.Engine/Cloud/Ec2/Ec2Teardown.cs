using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading.Tasks;
using System.Threading;
using System;
using Amazon.EC2.Model;
using Amazon.EC2;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Timing;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// Ends EC2 hosts: terminate (idempotent), delete the key pair made for them, delete the security
    /// group once the instance has let go of it (DependencyViolation until then).
    /// </summary>
    public static class Ec2Teardown
    {
        /// <summary>How long a clean-up waits for a shutting-down instance before leaving the group to Get-MetalHost -Orphaned.</summary>
        internal static readonly TimeSpan CleanupBound = TimeSpan.FromMinutes(30);

        private static readonly List<Task> Pending = new List<Task>();

        /// <summary>Security-group deletions still waiting for an instance to terminate (tests and benchmarks await them).</summary>
        public static Task WhenPendingDone()
        {
            lock (Pending) return Task.WhenAll(Pending.ToArray());
        }

        /// <summary>Terminates <paramref name="instanceId"/> and deletes what was made for it.</summary>
        /// <param name="wait">Wait for terminated; otherwise return once termination is accepted and finish the group in the background.</param>
        public static async Task<TeardownReport> RemoveAsync(AwsConnectionOptions connection, string instanceId, bool wait, decimal? pricePerHour,
            IOperationReporter reporter, CancellationToken ct)
        {
            var aws = Ec2Connection.Open(connection, reporter);
            bool handedOff = false;
            try
            {
                var instance = await InstanceWaiter.DescribeAsync(aws.Ec2, instanceId, ct).ConfigureAwait(false);
                if (instance == null)
                    throw new OpenBsdBuildException("InstanceNotFound", FailureKind.ObjectNotFound, $"No instance {instanceId} in {aws.Region}.", instanceId,
                        "Check -Region; Get-MetalHost lists the hosts this module created.");
                string? runId = Ec2Tags.Get(instance.Tags, Ec2Tags.RunId);
                if (runId == null)
                    throw new OpenBsdBuildException("NotOurInstance", FailureKind.PermissionDenied,
                        $"{instanceId} was not created by OpenBsdBuild (no {Ec2Tags.RunId} tag); it is left alone.", instanceId,
                        "Terminate it with the EC2 console or Remove-EC2Instance if you really mean to.");

                var report = new TeardownReport
                {
                    InstanceId = instanceId,
                    InstanceType = instance.InstanceType?.Value,
                    PricePerHour = pricePerHour ?? MetalPrices.For(instance.InstanceType?.Value ?? ""),
                };
                DateTime launched = instance.LaunchTime?.ToUniversalTime() ?? DateTime.UtcNow;
                reporter.Progress("Remove-MetalHost", $"Terminating {instanceId}");
                string state = await TerminateAsync(aws.Ec2, instanceId, ct).ConfigureAwait(false);
                report.State = state;
                report.Duration = DateTime.UtcNow - launched;

                // The key pair made for this run (never one the user brought with -KeyName).
                if (!string.IsNullOrEmpty(instance.KeyName))
                {
                    var key = await FindKeyPairAsync(aws.Ec2, instance.KeyName, ct).ConfigureAwait(false);
                    if (key != null && Ec2Tags.Get(key.Tags, Ec2Tags.RunId) == runId && Ec2Tags.Get(key.Tags, Ec2Tags.EphemeralKey) == "true")
                    {
                        await DeleteKeyPairAsync(aws.Ec2, key.KeyName, ct).ConfigureAwait(false);
                        EphemeralKeyPair.DeleteLocal(key.KeyName); // left here when the client that made it was killed
                        report.KeyPairDeleted = key.KeyName;
                    }
                }

                string? groupId = null;
                foreach (var g in instance.SecurityGroups ?? new List<GroupIdentifier>())
                    if (g.GroupId != null && await IsRunGroupAsync(aws.Ec2, g.GroupId, runId, ct).ConfigureAwait(false)) { groupId = g.GroupId; break; }
                // An instance that is already gone (interrupted, or ended by its self-destruct) no longer lists its groups.
                groupId ??= await FindRunGroupAsync(aws.Ec2, runId, ct).ConfigureAwait(false);
                if (groupId != null)
                {
                    if (wait)
                    {
                        await WaitTerminatedAsync(aws.Ec2, instanceId, TimeSpan.MaxValue, reporter, ct).ConfigureAwait(false);
                        report.State = "terminated";
                        report.Duration = DateTime.UtcNow - launched;
                        await DeleteGroupWhenFreeAsync(aws.Ec2, groupId, instanceId, CleanupBound, reporter, ct).ConfigureAwait(false);
                        report.SecurityGroupDeleted = groupId;
                    }
                    else if (await TryDeleteGroupAsync(aws.Ec2, groupId, ct).ConfigureAwait(false))
                    {
                        report.SecurityGroupDeleted = groupId;
                    }
                    else
                    {
                        // Metal can sit in shutting-down for many minutes; don't hold the user for it.
                        report.SecurityGroupPending = groupId;
                        handedOff = true;
                        var background = Task.Run(async () =>
                        {
                            try { await DeleteGroupWhenFreeAsync(aws.Ec2, groupId, instanceId, CleanupBound, NullReporter.Instance, CancellationToken.None).ConfigureAwait(false); }
                            catch (Exception) { /* Get-MetalHost -Orphaned lists it. */ }
                            finally { aws.Dispose(); }
                        });
                        lock (Pending) { Pending.RemoveAll(t => t.IsCompleted); Pending.Add(background); }
                        reporter.Verbose($"Security group {groupId} is deleted in the background once {instanceId} has terminated; if this session ends first, Get-MetalHost -Orphaned lists it.");
                    }
                }
                if (wait && report.State != "terminated")
                {
                    // No group of the run was found (a key pair brought with -KeyName, a group deleted by hand): -Wait still means terminated.
                    await WaitTerminatedAsync(aws.Ec2, instanceId, TimeSpan.MaxValue, reporter, ct).ConfigureAwait(false);
                    report.State = "terminated";
                    report.Duration = DateTime.UtcNow - launched;
                }
                reporter.ProgressDone("Remove-MetalHost");
                return report;
            }
            finally
            {
                if (!handedOff) aws.Dispose();
            }
        }

        /// <summary>How long a launch that was never answered is looked for: DescribeInstances is eventually consistent.</summary>
        internal static readonly TimeSpan UnansweredLaunchBound = TimeSpan.FromSeconds(30);

        /// <summary>
        /// The instance a RunInstances with <paramref name="clientToken"/> launched, when its answer never arrived; null when
        /// none shows up within <see cref="UnansweredLaunchBound"/> (the request never reached EC2). Never cancelled: a
        /// running metal host this process cannot name is the leak this exists for.
        /// </summary>
        internal static async Task<string?> FindLaunchedAsync(IAmazonEC2 ec2, string clientToken, IOperationReporter reporter)
        {
            var byToken = new DescribeInstancesRequest { Filters = new List<Filter> { new Filter("client-token", new List<string> { clientToken }) } };
            try
            {
                string id = await Poll.UntilAsync(async _ =>
                {
                    try
                    {
                        var r = await ec2.DescribeInstancesAsync(byToken, CancellationToken.None).ConfigureAwait(false);
                        return r.Reservations?.SelectMany(x => x.Instances ?? new List<Instance>()).Select(i => i.InstanceId).FirstOrDefault();
                    }
                    catch (Exception ex) when (ex is Amazon.Runtime.AmazonServiceException || ex is System.Net.Http.HttpRequestException || ex is System.IO.IOException)
                    {
                        reporter.Verbose($"Looking for the instance of client token {clientToken}: {ex.Message}");
                        return null;
                    }
                }, Backoff.Every(TimeSpan.FromSeconds(2)), UnansweredLaunchBound, _ => new NoLaunchFound(), CancellationToken.None).ConfigureAwait(false);
                reporter.Verbose($"The launch was interrupted before EC2's answer; it had launched {id} (client token {clientToken}).");
                return id;
            }
            catch (NoLaunchFound)
            {
                reporter.Verbose($"No instance has client token {clientToken}: the interrupted launch did not reach EC2.");
                return null;
            }
        }

        private sealed class NoLaunchFound : Exception { }

        /// <summary>Launch clean-up: everything given is removed; failures become warnings so the original error surfaces.</summary>
        internal static async Task DeleteAllAsync(Ec2Connection aws, string? instanceId, string? keyName, string? groupId, TimeSpan bound,
            IOperationReporter reporter, CancellationToken ct)
        {
            if (instanceId != null)
            {
                try { await TerminateAsync(aws.Ec2, instanceId, ct).ConfigureAwait(false); reporter.Verbose($"Terminated {instanceId}."); }
                catch (Exception ex) when (!(ex is OperationCanceledException)) { reporter.Warning($"Could not terminate {instanceId}: {ex.Message}. Terminate it by hand; it is billed while it runs."); }
            }
            if (keyName != null)
            {
                try { await DeleteKeyPairAsync(aws.Ec2, keyName, ct).ConfigureAwait(false); reporter.Verbose($"Deleted key pair {keyName}."); }
                catch (Exception ex) when (!(ex is OperationCanceledException)) { reporter.Warning($"Could not delete key pair {keyName}: {ex.Message}."); }
            }
            if (groupId != null)
            {
                try
                {
                    if (instanceId != null) await WaitTerminatedAsync(aws.Ec2, instanceId, bound, reporter, ct).ConfigureAwait(false);
                    await DeleteGroupWhenFreeAsync(aws.Ec2, groupId, instanceId, bound, reporter, ct).ConfigureAwait(false);
                    reporter.Verbose($"Deleted security group {groupId}.");
                }
                catch (Exception ex) when (!(ex is OperationCanceledException))
                {
                    reporter.Warning($"Could not delete security group {groupId}: {ex.Message}. Get-MetalHost -Orphaned lists it.");
                }
            }
        }

        internal static async Task<string> TerminateAsync(IAmazonEC2 ec2, string instanceId, CancellationToken ct)
        {
            try
            {
                var r = await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = new List<string> { instanceId } }, ct).ConfigureAwait(false);
                return r.TerminatingInstances?.FirstOrDefault()?.CurrentState?.Name?.Value ?? "shutting-down";
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidInstanceID.NotFound")
            {
                return "terminated";
            }
        }

        internal static async Task WaitTerminatedAsync(IAmazonEC2 ec2, string instanceId, TimeSpan bound, IOperationReporter reporter, CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            await InstanceWaiter.WaitAsync(ec2, instanceId, "terminating", i => i.State?.Name == InstanceStateName.Terminated, null,
                bound == TimeSpan.MaxValue ? TimeSpan.FromDays(1) : bound, TimeSpan.FromSeconds(1),
                i => reporter.Progress("Remove-MetalHost", $"{instanceId}: {i?.State?.Name?.Value ?? "terminated"}, {clock.Elapsed.TotalSeconds:0} s"), ct).ConfigureAwait(false);
        }

        private static async Task DeleteGroupWhenFreeAsync(IAmazonEC2 ec2, string groupId, string? instanceId, TimeSpan bound, IOperationReporter reporter, CancellationToken ct)
        {
            // EC2 refuses to delete a group while an instance holds it: wait for that instance to end, else look again.
            await Poll.UntilTrueAsync(async attempt =>
                {
                    if (await TryDeleteGroupAsync(ec2, groupId, ct).ConfigureAwait(false)) return true;
                    if (instanceId != null && attempt.Elapsed < bound)
                        await WaitTerminatedAsync(ec2, instanceId, bound - attempt.Elapsed, reporter, ct).ConfigureAwait(false);
                    return false;
                },
                Backoff.Pause(TimeSpan.FromSeconds(2)), bound,
                _ => new OpenBsdBuildException("SecurityGroupInUse", FailureKind.ResourceUnavailable,
                    $"Security group {groupId} was still in use after {bound.TotalMinutes:0} min.", groupId, "Delete it later; Get-MetalHost -Orphaned lists it."),
                ct).ConfigureAwait(false);
        }

        /// <summary>True when the group is gone (deleted now or before); false while an instance still holds it.</summary>
        internal static async Task<bool> TryDeleteGroupAsync(IAmazonEC2 ec2, string groupId, CancellationToken ct)
        {
            try
            {
                await ec2.DeleteSecurityGroupAsync(new DeleteSecurityGroupRequest { GroupId = groupId }, ct).ConfigureAwait(false);
                return true;
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidGroup.NotFound")
            {
                return true;
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "DependencyViolation")
            {
                return false;
            }
        }

        internal static async Task DeleteKeyPairAsync(IAmazonEC2 ec2, string keyName, CancellationToken ct)
        {
            try
            {
                await ec2.DeleteKeyPairAsync(new DeleteKeyPairRequest { KeyName = keyName }, ct).ConfigureAwait(false);
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidKeyPair.NotFound")
            {
            }
        }

        private static async Task<KeyPairInfo?> FindKeyPairAsync(IAmazonEC2 ec2, string keyName, CancellationToken ct)
        {
            try
            {
                var r = await ec2.DescribeKeyPairsAsync(new DescribeKeyPairsRequest { KeyNames = new List<string> { keyName } }, ct).ConfigureAwait(false);
                return r.KeyPairs?.FirstOrDefault();
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidKeyPair.NotFound")
            {
                return null;
            }
        }

        private static async Task<string?> FindRunGroupAsync(IAmazonEC2 ec2, string runId, CancellationToken ct)
        {
            var r = await ec2.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest
            {
                Filters = new List<Filter> { new Filter("tag-key", new List<string> { Ec2Tags.RunId }) },
            }, ct).ConfigureAwait(false);
            return r.SecurityGroups?.FirstOrDefault(g => Ec2Tags.Get(g.Tags, Ec2Tags.RunId) == runId)?.GroupId;
        }

        private static async Task<bool> IsRunGroupAsync(IAmazonEC2 ec2, string groupId, string runId, CancellationToken ct)
        {
            try
            {
                var r = await ec2.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { GroupIds = new List<string> { groupId } }, ct).ConfigureAwait(false);
                return Ec2Tags.Get(r.SecurityGroups?.FirstOrDefault()?.Tags, Ec2Tags.RunId) == runId;
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidGroup.NotFound")
            {
                return false;
            }
        }
    }
}
