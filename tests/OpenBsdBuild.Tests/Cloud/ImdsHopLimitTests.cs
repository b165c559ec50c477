using System;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Emulation.Imds;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// The IMDSv2 hop limit as EC2 applies it, at the IP level: the token PUT's response leaves with TTL =
    /// HttpPutResponseHopLimit (default 1), so a client one router away (a container behind a bridge) gets no
    /// token, while one on the link does. Real routing: the emulator on this machine, a router namespace with
    /// forwarding on, and a client namespace behind it (docs/compatibility.md, "IMDSv2").
    /// </summary>
    public sealed class ImdsHopLimitTests : IAsyncLifetime
    {
        private static int _counter;
        private readonly string _router;
        private readonly string _client;
        private readonly string _link;
        private string _net = "";
        private ImdsEmulator _imds = null!;

        public ImdsHopLimitTests()
        {
            Tools.Require("ip", "perl", "flock");
            int id = Interlocked.Increment(ref _counter);
            int pid = Environment.ProcessId % 100000;
            _router = $"obbhopr{pid}n{id}";
            _client = $"obbhopc{pid}n{id}";
            _link = $"obbh{pid}a{id}";
        }

        public Task InitializeAsync()
        {
            // this machine 10.204.N.1 <-> .2 router .5 <-> .6 client; the subnet chosen under the lock NetnsSshHost uses.
            int start = (Environment.ProcessId * 7) % 250 + 1;
            string r = _router, c = _client;
            _net = Tools.Sh($"ip netns del {r} 2>/dev/null; ip netns del {c} 2>/dev/null; ip link del {_link} 2>/dev/null; " +
                $"flock /tmp/obb-netns-subnets.lock sh -c 'for n in $(seq {start} 250) $(seq 1 {start}); do " +
                "ip -o -4 addr show | grep -q \" 10\\.204\\.$n\\.1/\" && continue; " +
                $"ip netns add {r} && ip netns add {c} && " +
                $"ip link add {_link} type veth peer name up0 netns {r} && ip addr add 10.204.$n.1/30 dev {_link} && ip link set {_link} up && " +
                $"ip -n {r} addr add 10.204.$n.2/30 dev up0 && ip -n {r} link set up0 up && ip -n {r} link set lo up && " +
                $"ip -n {r} link add down0 type veth peer name up0 netns {c} && ip -n {r} addr add 10.204.$n.5/30 dev down0 && ip -n {r} link set down0 up && " +
                $"ip -n {c} addr add 10.204.$n.6/30 dev up0 && ip -n {c} link set up0 up && ip -n {c} link set lo up && " +
                $"ip -n {c} route add default via 10.204.$n.5 && ip netns exec {r} sysctl -qw net.ipv4.ip_forward=1 && " +
                $"ip route add 10.204.$n.4/30 via 10.204.$n.2 && echo 10.204.$n; exit; done; echo no free 10.204.x.0/30 subnet >&2; exit 1'").Trim();
            _imds = ImdsEmulator.Start(new ImdsInstance(), IPAddress.Parse(_net + ".1"));
            return Task.CompletedTask;
        }

        public async Task DisposeAsync()
        {
            await _imds.DisposeAsync();
            Tools.Sh($"ip netns del {_router}; ip netns del {_client}; ip link del {_link} 2>/dev/null; true", allowFailure: true);
        }

        /// <summary>The token PUT as the agent sends it (perl's HTTP::Tiny), from inside a namespace: the status, 599 when nothing came back.</summary>
        private string PutFrom(string ns) => Tools.Sh(
            $"ip netns exec {ns} perl -MHTTP::Tiny -e 'my $r = HTTP::Tiny->new(timeout => 5)->request(q(PUT), q({_imds.BaseUri}latest/api/token), " +
            "{ headers => { q(X-aws-ec2-metadata-token-ttl-seconds) => 60 } }); print $r->{status}'", allowFailure: true).Trim();

        [Fact]
        public void A_token_reaches_a_client_on_the_link_but_not_one_behind_a_router_unless_the_hop_limit_allows()
        {
            Assert.Equal("200", PutFrom(_router));
            Assert.Equal("599", PutFrom(_client));
            // The answer did leave, with TTL 1: the router dropped it instead of forwarding it.
            Assert.Contains(_imds.Requests, r => r.Method == "PUT" && r.ResponseTtl == 1);

            _imds.Instance.HttpPutResponseHopLimit = 2;
            Assert.Equal("200", PutFrom(_client));
        }
    }
}
