using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// A link that dies silently (the namespace's veth goes down: no reset, packets just vanish) in each
    /// phase of Invoke-GuestBuild. The target is a real sshd in a network namespace, so the phase can be
    /// hit on purpose; both directions are throttled to ~16 Mbit/s so a transfer is still running when
    /// the link goes. Each phase must end as GuestLost naming the phase, not wait out TCP's retries.
    /// </summary>
    public sealed class LinkLossTests : IDisposable
    {
        /// <summary>Only a hang guard (TCP would take ~15 min); the measured time goes to docs/reliability.md.</summary>
        private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120);

        private readonly SshBuildTarget _target = new SshBuildTarget();
        private readonly PsSession _ps = new PsSession();
        private readonly string _work = Directory.CreateTempSubdirectory("obb-linkloss-").FullName;

        public LinkLossTests() => _ps.Set("guest", _target.Guest);

        /// <summary>Where the build works in the "guest": the namespace shares this file system, so the test can watch it.</summary>
        private string Remote => Path.Combine(_target.Namespace.Directory, "ws");

        private void Throttle()
        {
            var ns = _target.Namespace;
            string outer = Tools.Sh($"ip -o addr show to {ns.OuterAddress} | awk '{{print $2}}'").Trim();
            string inner = "obbi" + outer.Substring(4).Replace('a', 'n'); // NetnsSshHost names the pair obbv<pid>a<id> / obbi<pid>n<id>
            Tools.Sh($"tc qdisc add dev {outer} root tbf rate 16mbit burst 64kb latency 400ms");
            Tools.Sh($"ip netns exec {ns.Namespace} tc qdisc add dev {inner} root tbf rate 16mbit burst 64kb latency 400ms");
        }

        private static long SizeOf(string directory, string pattern = "*") =>
            Directory.Exists(directory) ? Directory.GetFiles(directory, pattern, SearchOption.AllDirectories).Sum(f => { try { return new FileInfo(f).Length; } catch (IOException) { return 0; } }) : 0;

        /// <summary>Runs the build, cuts the link once <paramref name="reached"/> holds, and checks the error names <paramref name="phase"/>.</summary>
        private void CutWhen(string script, Func<bool> reached, string phase, string row)
        {
            var running = _ps.RunAsync(script);
            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (!reached())
            {
                Assert.False(running.IsCompleted, $"the build ended before the {phase}: " + (running.IsCompleted ? running.Result.Describe() : ""));
                Assert.True(DateTime.UtcNow < deadline, "never reached the " + phase);
                Thread.Sleep(50);
            }
            var clock = Stopwatch.StartNew();
            _target.Namespace.LinkDown();
            try
            {
                Assert.True(running.Wait(HangGuard), $"the {phase} hung after the link died");
                var took = clock.Elapsed;
                var r = running.Result;
                var e = r.FirstError;
                Assert.True(e != null, r.Describe());
                Assert.StartsWith("OpenBsdBuild.GuestLost,", e!.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
                Assert.Contains($"was lost during the {phase}", e.Exception.Message);
                // The failed result still flows, so a Remove-MetalHost downstream gets the host.
                var result = r.Single<GuestBuildResult>();
                Assert.False(result.Succeeded);
                Assert.Same(result, e.TargetObject);
                ReliabilityDoc.Row(row, $"OpenBsdBuild.GuestLost naming the {phase}, within the watchdog's ~20 s", took);
            }
            finally
            {
                _target.Namespace.LinkUp();
            }
        }

        [Fact]
        public void A_link_dead_while_connecting_is_ConnectTimeout_within_its_bound_not_a_hang()
        {
            var ns = _target.Namespace;
            ns.LinkDown();
            var clock = Stopwatch.StartNew();
            try
            {
                var running = _ps.RunAsync(ns.ConnectCommand);
                Assert.True(running.Wait(HangGuard), "Connect-MetalHost hung on the dead link");
                var r = running.Result;
                var e = r.FirstError;
                Assert.True(e != null, r.Describe());
                Assert.StartsWith("OpenBsdBuild.ConnectTimeout,", e!.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.OperationTimeout, e.CategoryInfo.Category);
                Assert.Empty(r.All<MetalHost>());
                ReliabilityDoc.Row("The link is down while Connect-MetalHost connects", "OpenBsdBuild.ConnectTimeout after -ConnectTimeout (20 s by default), not a hang", clock.Elapsed);
            }
            finally
            {
                ns.LinkUp();
            }
        }

        [Fact]
        public void A_link_dead_before_the_build_starts_is_GuestLost_in_the_preflight()
        {
            _target.Namespace.LinkDown();
            var clock = Stopwatch.StartNew();
            try
            {
                var running = _ps.RunAsync($"$guest | Invoke-GuestBuild -Command true -WorkingDirectory '{Remote}' -MinFreeSpace 1MB -Destination '{_work}/o'");
                Assert.True(running.Wait(HangGuard), "the preflight hung after the link died");
                var r = running.Result;
                Assert.StartsWith("OpenBsdBuild.GuestLost,", r.FirstError?.FullyQualifiedErrorId ?? r.Describe());
                Assert.Contains("was lost during the preflight", r.FirstError!.Exception.Message);
                ReliabilityDoc.Row("The link dies before the build: preflight", "OpenBsdBuild.GuestLost naming the preflight, within the watchdog's ~20 s", clock.Elapsed);
            }
            finally
            {
                _target.Namespace.LinkUp();
            }
        }

        [Fact]
        public void A_link_that_dies_during_the_upload_is_GuestLost_not_a_hang()
        {
            string src = Path.Combine(_work, "src");
            Directory.CreateDirectory(src);
            var bytes = new byte[48 << 20];
            new Random(7).NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(src, "blob.bin"), bytes);
            Throttle();
            CutWhen($"$guest | Invoke-GuestBuild -Path '{src}' -Command true -WorkingDirectory '{Remote}' -MinFreeSpace 1MB -Destination '{_work}/o'",
                () => SizeOf(Remote) > (2 << 20), "upload of the sources", "The link dies during the source upload");
        }

        [Fact]
        public void A_link_that_dies_while_the_build_runs_is_GuestLost_not_a_hang()
        {
            string marker = Path.Combine(Remote, "started");
            CutWhen($"$guest | Invoke-GuestBuild -Command 'touch started; sleep 300' -WorkingDirectory '{Remote}' -MinFreeSpace 1MB -Destination '{_work}/o'",
                () => File.Exists(marker), "build", "The link dies while the build runs");
        }

        [Fact]
        public void A_link_that_dies_during_the_artifact_download_is_GuestLost_not_a_hang()
        {
            Throttle();
            string destination = Path.Combine(_work, "o");
            CutWhen($"$guest | Invoke-GuestBuild -Command 'head -c 50000000 /dev/urandom > big.bin' -Artifact big.bin -WorkingDirectory '{Remote}' -MinFreeSpace 1MB -Destination '{destination}'",
                () => SizeOf(destination, "*.partial") > (2 << 20), "download of the artifacts", "The link dies during the artifact download");
            Assert.False(File.Exists(Path.Combine(destination, "big.bin")));
        }

        [Fact]
        public void Remove_MetalHost_on_a_host_whose_link_died_is_HostLost_for_its_guests_and_still_releases_the_host()
        {
            _target.Host.AddGuest(_target.Guest);
            _ps.Set("h", _target.Host);
            _target.Namespace.LinkDown();
            var clock = Stopwatch.StartNew();
            try
            {
                var running = _ps.RunAsync("$h | Remove-MetalHost");
                // A stop gives a busy host 90 s beyond the grace period before it is HostLost.
                Assert.True(running.Wait(HangGuard + TimeSpan.FromSeconds(90)), "Remove-MetalHost hung on the dead link");
                var r = running.Result;
                Assert.Null(r.Exception);
                var e = Assert.Single(r.Errors);
                Assert.StartsWith("OpenBsdBuild.HostLost,", e.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
                Assert.Same(_target.Guest, e.TargetObject);
                Assert.Equal(HostState.Removed, _target.Host.State);
                ReliabilityDoc.Row("The link to the host is dead when Remove-MetalHost stops its guests", "OpenBsdBuild.HostLost (non-terminating) per guest; the host is still released (an EC2 host terminated)", clock.Elapsed);
            }
            finally
            {
                _target.Namespace.LinkUp();
            }
        }

        public void Dispose()
        {
            _ps.Dispose();
            _target.Dispose();
            Directory.Delete(_work, true);
        }
    }
}
