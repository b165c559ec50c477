using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using System.Threading;
using System;
using Amazon.EC2.Model;
using Amazon.EC2;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;


namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>Lists what this module created in a region, by its tags.</summary>
    public static class Ec2Inventory
    {
        private static readonly List<string> LiveStates = new List<string> { "pending", "running", "shutting-down", "stopping", "stopped" };

        public static async Task<IReadOnlyList<MetalHost>> ListHostsAsync(AwsConnectionOptions connection, IOperationReporter? reporter, CancellationToken ct)
        {
            using var aws = Ec2Connection.Open(connection, reporter);
            string? account = await CallerAccountAsync(aws, ct).ConfigureAwait(false);
            return (await DescribeOursAsync(aws, ct).ConfigureAwait(false)).Select(i => ToHost(i, aws, connection, account)).ToList();
        }

        /// <summary>Hosts past their expiry, and groups/key pairs whose run has no live instance.</summary>
        public static async Task<(IReadOnlyList<MetalHost> Hosts, IReadOnlyList<Ec2Leftover> Leftovers)> ListOrphansAsync(AwsConnectionOptions connection, IOperationReporter? reporter, CancellationToken ct)
        {
            using var aws = Ec2Connection.Open(connection, reporter);
            string? account = await CallerAccountAsync(aws, ct).ConfigureAwait(false);
            var live = await DescribeOursAsync(aws, ct).ConfigureAwait(false);
            var liveRuns = new HashSet<string>(live.Select(i => Ec2Tags.Get(i.Tags, Ec2Tags.RunId)!));
            var now = DateTime.UtcNow;
            var expired = live.Where(i => i.State?.Name != InstanceStateName.ShuttingDown &&
                                          Ec2Tags.ParseTime(Ec2Tags.Get(i.Tags, Ec2Tags.Expires)) is DateTime e && e < now)
                              .Select(i => ToHost(i, aws, connection, account)).ToList();

            var leftovers = new List<Ec2Leftover>();
            var tagKey = new Filter("tag-key", new List<string> { Ec2Tags.RunId });
            var groups = await aws.Ec2.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest { Filters = new List<Filter> { tagKey } }, ct).ConfigureAwait(false);
            foreach (var g in groups.SecurityGroups ?? new List<SecurityGroup>())
            {
                string? run = Ec2Tags.Get(g.Tags, Ec2Tags.RunId);
                if (run != null && !liveRuns.Contains(run))
                    leftovers.Add(Found(new Ec2Leftover { Kind = "SecurityGroup", Id = g.GroupId, Name = g.GroupName, RunId = run, Created = Ec2Tags.ParseTime(Ec2Tags.Get(g.Tags, Ec2Tags.Created)) }, aws, connection, g.OwnerId ?? account));
            }
            var keys = await aws.Ec2.DescribeKeyPairsAsync(new DescribeKeyPairsRequest { Filters = new List<Filter> { tagKey } }, ct).ConfigureAwait(false);
            foreach (var k in keys.KeyPairs ?? new List<KeyPairInfo>())
            {
                string? run = Ec2Tags.Get(k.Tags, Ec2Tags.RunId);
                if (run != null && !liveRuns.Contains(run))
                    leftovers.Add(Found(new Ec2Leftover { Kind = "KeyPair", Id = k.KeyPairId, Name = k.KeyName, RunId = run, Created = Ec2Tags.ParseTime(Ec2Tags.Get(k.Tags, Ec2Tags.Created)) }, aws, connection, account));
            }
            return (expired, leftovers);
        }

        private static Ec2Leftover Found(Ec2Leftover leftover, Ec2Connection aws, AwsConnectionOptions connection, string? account)
        {
            leftover.Region = aws.Region;
            leftover.AccountId = account;
            leftover.EndpointUrl = aws.Endpoint;
            leftover.CredentialSource = aws.CredentialSource;
            leftover.Connection = Pinned(connection, aws.Region);
            return leftover;
        }

        /// <summary>The listing's connection with the region it resolved to, so a later call reaches the same place.</summary>
        private static AwsConnectionOptions Pinned(AwsConnectionOptions c, string region) => new AwsConnectionOptions
        {
            Region = region, ProfileName = c.ProfileName, ProfileLocation = c.ProfileLocation, AccessKey = c.AccessKey,
            SecretKey = c.SecretKey, SessionToken = c.SessionToken, EndpointUrl = c.EndpointUrl,
        };

        /// <summary>
        /// The account the credentials act in: the owner of the region's default security group (every
        /// VPC has one, and EC2 names its owner). Null where there is none to ask.
        /// </summary>
        internal static async Task<string?> CallerAccountAsync(Ec2Connection aws, CancellationToken ct)
        {
            var r = await aws.Ec2.DescribeSecurityGroupsAsync(new DescribeSecurityGroupsRequest
            {
                Filters = new List<Filter> { new Filter("group-name", new List<string> { "default" }) },
            }, ct).ConfigureAwait(false);
            return r.SecurityGroups?.Select(g => g.OwnerId).FirstOrDefault(o => !string.IsNullOrEmpty(o));
        }

        /// <summary>
        /// Deletes a leftover group or key pair. Only in the account it was found in: there, "not found"
        /// means already gone; in another account it would mean nothing, so that is refused first.
        /// </summary>
        public static async Task DeleteLeftoverAsync(AwsConnectionOptions connection, Ec2Leftover leftover, IOperationReporter? reporter, CancellationToken ct)
        {
            using var aws = Ec2Connection.Open(connection, reporter);
            if (leftover.AccountId != null)
            {
                string? caller = await CallerAccountAsync(aws, ct).ConfigureAwait(false);
                if (caller != leftover.AccountId)
                    throw new Errors.OpenBsdBuildException("AccountMismatch", Errors.FailureKind.InvalidOperation,
                        $"{leftover} was found in account {leftover.AccountId} ({leftover.CredentialSource}), but these credentials ({aws.CredentialSource}) act in " +
                        $"{(caller == null ? "an account that could not be determined" : "account " + caller)}; nothing was deleted.", leftover,
                        "Pipe it without AWS parameters: it remembers how it was found. Or pass the credentials of account " + leftover.AccountId + ".");
            }
            if (leftover.Kind == "SecurityGroup")
            {
                if (!await Ec2Teardown.TryDeleteGroupAsync(aws.Ec2, leftover.Id, ct).ConfigureAwait(false))
                    throw new Errors.OpenBsdBuildException("SecurityGroupInUse", Errors.FailureKind.ResourceUnavailable,
                        $"Security group {leftover.Id} is still in use.", leftover, "Try again once its instance has terminated.");
            }
            else
            {
                await Ec2Teardown.DeleteKeyPairAsync(aws.Ec2, leftover.Name, ct).ConfigureAwait(false);
                EphemeralKeyPair.DeleteLocal(leftover.Name);
            }
        }

        private static async Task<List<Instance>> DescribeOursAsync(Ec2Connection aws, CancellationToken ct)
        {
            var result = new List<Instance>();
            string? token = null;
            do
            {
                var r = await aws.Ec2.DescribeInstancesAsync(new DescribeInstancesRequest
                {
                    Filters = new List<Filter>
                    {
                        new Filter("tag-key", new List<string> { Ec2Tags.RunId }),
                        new Filter("instance-state-name", LiveStates),
                    },
                    NextToken = token,
                }, ct).ConfigureAwait(false);
                result.AddRange(r.Reservations?.SelectMany(x => x.Instances ?? new List<Instance>()) ?? Enumerable.Empty<Instance>());
                token = r.NextToken;
            } while (!string.IsNullOrEmpty(token));
            return result;
        }

        private static MetalHost ToHost(Instance i, Ec2Connection aws, AwsConnectionOptions connection, string? account)
        {
            string region = aws.Region;
            string type = i.InstanceType?.Value ?? "";
            bool native = Ec2Tags.Get(i.Tags, Ec2Tags.Road) == "native";
            var caps = new HostCapabilities { Architecture = i.Architecture?.Value == "x86_64" ? "amd64" : "arm64", OperatingSystem = native ? "OpenBSD" : "Linux" };
            decimal? price = MetalPrices.For(type);
            return new MetalHost(HostProvider.Ec2, i.InstanceId, new UnconnectedShell(i.InstanceId), caps, "")
            {
                State = HostState.Listed,
                InstanceState = i.State?.Name?.Value,
                HostName = i.PublicIpAddress ?? i.PrivateIpAddress,
                InstanceId = i.InstanceId,
                InstanceType = type,
                Region = region,
                AvailabilityZone = i.Placement?.AvailabilityZone,
                PublicIpAddress = i.PublicIpAddress,
                PrivateIpAddress = i.PrivateIpAddress,
                KeyName = i.KeyName,
                SecurityGroupId = i.SecurityGroups?.FirstOrDefault()?.GroupId,
                RunId = Ec2Tags.Get(i.Tags, Ec2Tags.RunId),
                Native = native,
                LaunchTime = i.LaunchTime?.ToUniversalTime() ?? DateTime.UtcNow,
                ExpiresAt = Ec2Tags.ParseTime(Ec2Tags.Get(i.Tags, Ec2Tags.Expires)),
                PricePerHour = price,
                PriceSource = price.HasValue ? MetalPrices.Source : null,
                Ec2 = new Ec2HostContext(Pinned(connection, region)),
                AccountId = account,
                CredentialSource = aws.CredentialSource,
                EndpointUrl = aws.Endpoint,
            };
        }
    }
}
