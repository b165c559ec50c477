using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Timing;

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
        public static Task<Instance> WaitAsync(IAmazonEC2 ec2, string instanceId, string phase, Func<Instance, bool> isDone,
            Func<Instance, string?>? isFailed, TimeSpan timeout, TimeSpan interval, Action<Instance?>? onPoll, CancellationToken ct)
        {
            Instance? last = null;
            return Poll.UntilAsync(async _ =>
                {
                    last = await DescribeAsync(ec2, instanceId, ct).ConfigureAwait(false);
                    onPoll?.Invoke(last);
                    if (last == null) return null;
                    if (isDone(last)) return last;
                    string? failure = isFailed?.Invoke(last);
                    if (failure != null)
                        throw new OpenBsdBuildException("InstanceFailed", FailureKind.InvalidResult,
                            $"{instanceId} {failure} while {phase}" +
                            (last.StateReason?.Message is string why && why.Length > 0 ? $" ({why})." : "."), instanceId,
                            "Look at the instance's state reason in the EC2 console; capacity and quota problems pass, so retry later or pick another type.");
                    return null;
                },
                Backoff.Every(interval), timeout,
                _ => new OpenBsdBuildException("InstanceTimeout", FailureKind.OperationTimeout,
                    $"{instanceId} was still {(last?.State?.Name?.Value ?? "unknown to EC2")} after {timeout.TotalSeconds:0} s while {phase}.", instanceId,
                    "Metal can take over 20 minutes to start; raise -RunningTimeout, or try another type or zone."),
                ct);
        }
    }
}
