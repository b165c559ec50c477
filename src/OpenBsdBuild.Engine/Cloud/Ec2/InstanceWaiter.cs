using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// Polls DescribeInstances on a fixed schedule (not "sleep after each answer"), so a state
    /// change is seen at most one interval plus one round trip after it happens. The AWS CLI's
    /// waiters poll every 15 s; metal takes minutes to boot, but the user waits for every second
    /// we add at the end.
    /// </summary>
    public static class InstanceWaiter
    {
        /// <summary>Describes one instance; null while EC2 does not know it yet (eventual consistency right after launch).</summary>
        public static async Task<Instance?> DescribeAsync(IAmazonEC2 ec2, string instanceId, CancellationToken ct)
        {
            try
            {
                var r = await ec2.DescribeInstancesAsync(new DescribeInstancesRequest { InstanceIds = new List<string> { instanceId } }, ct).ConfigureAwait(false);
                return r.Reservations?.SelectMany(x => x.Instances ?? new List<Instance>()).FirstOrDefault(i => i.InstanceId == instanceId);
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidInstanceID.NotFound")
            {
                return null;
            }
        }

        /// <summary>Polls until <paramref name="isDone"/> holds; <paramref name="isFailed"/> returns an error message to stop with.</summary>
        public static async Task<Instance> WaitAsync(IAmazonEC2 ec2, string instanceId, string phase, Func<Instance, bool> isDone,
            Func<Instance, string?>? isFailed, TimeSpan timeout, TimeSpan interval, Action<Instance?>? onPoll, CancellationToken ct)
        {
            var clock = Stopwatch.StartNew();
            int polls = 0;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                Instance? instance = await DescribeAsync(ec2, instanceId, ct).ConfigureAwait(false);
                polls++;
                onPoll?.Invoke(instance);
                if (instance != null)
                {
                    if (isDone(instance)) return instance;
                    string? failure = isFailed?.Invoke(instance);
                    if (failure != null)
                        throw new OpenBsdBuildException("InstanceFailed", FailureKind.InvalidResult,
                            $"{instanceId} {failure} while {phase}" +
                            (instance.StateReason?.Message is string why && why.Length > 0 ? $" ({why})." : "."), instanceId,
                            "Look at the instance's state reason in the EC2 console; capacity and quota problems pass, so retry later or pick another type.");
                }
                if (clock.Elapsed >= timeout)
                    throw new OpenBsdBuildException("InstanceTimeout", FailureKind.OperationTimeout,
                        $"{instanceId} was still {(instance?.State?.Name?.Value ?? "unknown to EC2")} after {timeout.TotalSeconds:0} s while {phase}.", instanceId,
                        "Metal can take over 20 minutes to start; raise -RunningTimeout, or try another type or zone.");
                // Fixed schedule: the next poll is due `interval` after the previous one started.
                TimeSpan next = TimeSpan.FromTicks(interval.Ticks * polls) - clock.Elapsed;
                if (next > TimeSpan.Zero) await Task.Delay(next, ct).ConfigureAwait(false);
            }
        }
    }
}
