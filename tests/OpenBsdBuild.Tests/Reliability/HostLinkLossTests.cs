using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// A link that dies silently (the netns veth goes down) while a host is being made or attached, before
    /// any guest: New-MetalHost following the bootstrap and inspecting the host (EC2 emulator, the netns sshd
    /// as the instance), and Connect-MetalHost inspecting the host. The step is hit on purpose: root's
    /// ~/.bashrc, which bash reads before every command sshd runs, parks that step's command (recognised by its
    /// text) and says so in a file; the link goes down then. Each must be HostLost within the link watch's
    /// ~20 s, not TCP's ~15 min, and leave nothing. No QEMU: each test takes ~30 s.
    /// </summary>
    [Collection(ReliabilityCollection.Name)]
    public sealed class HostLinkLossTests : OneShotTestBase
    {
        public HostLinkLossTests(ReliabilityNamespace ns) : base(ns) { }

        /// <summary>
        /// Runs <paramref name="script"/> with the host command matching <paramref name="pattern"/> (a sh case pattern) parked,
        /// takes the link down once it is parked, and returns the result and the time from the link going down.
        /// </summary>
        private (PsResult r, TimeSpan took) CutWhenParked(PsSession ps, string pattern, string script, string step)
        {
            using var parked = ParkOnHost(pattern);
            try
            {
                var running = ps.RunAsync(script);
                WaitFor(() => Parked, running, step);
                var clock = Stopwatch.StartNew();
                Lab.Ssh.LinkDown();
                var r = running.Result; // a hang is the hang guard's (TCP would take ~15 min)
                return (r, clock.Elapsed);
            }
            finally
            {
                Lab.Ssh.LinkUp();
            }
        }

        private static void AssertHostLost(PsResult r, string step)
        {
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.HostLost,", e!.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
            Assert.Contains(step, e.Exception.Message);
            Assert.Empty(r.All<MetalHost>());
        }

        [Fact]
        public void New_MetalHost_whose_link_drops_while_it_follows_the_bootstrap_is_HostLost_and_removes_the_instance()
        {
            using var ps = new PsSession();
            var (r, took) = CutWhenParked(ps, "*'/status\" 2>/dev/null; true'*", $"New-MetalHost {Lab.Launch}", "the bootstrap's follow");
            AssertHostLost(r, "while New-MetalHost followed its bootstrap");
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("New-MetalHost: the link to the host drops while its bootstrap is followed",
                "OpenBsdBuild.HostLost naming the step, within ~20 s, not a hang; the instance, its security group and key pair are removed", took);
        }

        [Fact]
        public void New_MetalHost_whose_link_drops_while_it_inspects_the_host_is_HostLost_and_removes_the_instance()
        {
            using var ps = new PsSession();
            var (r, took) = CutWhenParked(ps, "*sessiongroups*", $"New-MetalHost {Lab.Launch}", "the host's inspection");
            AssertHostLost(r, "while it was inspected");
            Lab.AssertNothingLeft(r);
            ReliabilityDoc.Row("New-MetalHost: the link to the host drops while the host is inspected",
                "OpenBsdBuild.HostLost naming the step, within ~20 s, not a hang; the instance, its security group and key pair are removed", took);
        }

        [Fact]
        public void Connect_MetalHost_whose_link_drops_while_it_inspects_the_host_is_HostLost_and_attaches_nothing()
        {
            using var ps = new PsSession();
            var (r, took) = CutWhenParked(ps, "*sessiongroups*", Lab.Ssh.ConnectCommand, "the host's inspection");
            AssertHostLost(r, "while it was inspected");
            ReliabilityDoc.Row("Connect-MetalHost: the link to the host drops while the host is inspected",
                "OpenBsdBuild.HostLost, within ~20 s, not a hang; nothing is attached", took);
        }
    }
}
