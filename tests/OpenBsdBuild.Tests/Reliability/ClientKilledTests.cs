using System;
using System.Diagnostics;
using System.Linq;
using Xunit;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// What no finally block covers: the client vanishes (laptop asleep, process killed) while it
    /// holds a host. The host's own user data armed the self-destruct; once it fires, the orphan
    /// sweep finds and removes what the instance leaves behind.
    /// </summary>
    [Collection(ReliabilityCollection.Name)]
    public sealed class ClientKilledTests : OneShotTestBase
    {
        public ClientKilledTests(ReliabilityNamespace ns) : base(ns) { }

        [Fact]
        public void A_vanished_client_leaves_a_host_that_ends_itself_and_the_orphan_sweep_removes_the_rest()
        {
            // The client launches and is gone: its session ends without any teardown.
            using (var client = new PsSession())
            {
                var launched = client.Run($"New-MetalHost {Lab.Launch} -MaxLifetime 00:10:00");
                Assert.False(launched.HadErrors, launched.Describe());
            }
            string id = Lab.InstanceId;
            Assert.Equal(EmulatedInstanceState.Running, Lab.Emulator.Instances[id].State);

            // The user data armed the self-destruct before anything else, for the lifetime asked.
            Assert.StartsWith("-h +10 ", Lab.Booter.ShutdownArgs);
            // It fires: the machine powers off, and with shutdown behaviour "terminate" EC2 ends the instance.
            Lab.Emulator.ShutdownFromInstance(id);
            Assert.Equal("terminate", Lab.Emulator.Instances[id].ShutdownBehavior);

            using var ps = new PsSession();
            var clock = Stopwatch.StartNew();
            var swept = ps.Run($"Get-MetalHost {Lab.Aws} -Orphaned | Remove-MetalHost {Lab.Aws} -PassThru");
            var took = clock.Elapsed;
            Assert.False(swept.HadErrors, swept.Describe());
            Assert.Equal(new[] { "KeyPair", "SecurityGroup" }, swept.All<Ec2Leftover>().Select(l => l.Kind).OrderBy(k => k));
            Assert.True(Lab.Emulator.Instances[id].TerminatedByInstanceShutdown);
            Lab.AssertNothingLeft(swept);
            ReliabilityDoc.Row("Client killed while it holds a host", "the host ends itself after -MaxLifetime; Get-MetalHost -Orphaned lists the rest", took);
        }
    }
}
