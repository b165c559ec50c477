using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// Several guests on one host stopped at once: each stop is one script on the host, and they run
    /// side by side, so guests that ignore the ACPI power button cost one grace period, not one each.
    /// Real QEMU guests (the test guest, whose acpid powers it off on the button; killed here so the
    /// guests ignore it as an OS without ACPI support would).
    /// </summary>
    [Collection(GuestReliabilityCollection.Name)]
    public sealed class GuestStopTests : IDisposable
    {
        private readonly string _state = Directory.CreateTempSubdirectory("obb-guest-stop-").FullName;
        private readonly TestGuestImage.Built _image = TestGuestImage.Get();

        public void Dispose()
        {
            foreach (int pid in Tools.QemuProcesses(_state)) Tools.Sh($"kill -9 {pid}", allowFailure: true);
            Directory.Delete(_state, true);
        }

        /// <summary>The host-side stop scripts running now, by guest (their command line names the guest's directory).</summary>
        private IReadOnlyList<string> StopsRunning(IEnumerable<string> guests)
        {
            var running = new List<string>();
            foreach (string dir in Directory.GetDirectories("/proc"))
            {
                string args;
                try { args = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '); }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { continue; }
                if (!args.Contains("ours()")) continue;
                running.AddRange(guests.Where(g => args.Contains(Path.Combine(_state, "guests", g))));
            }
            return running.Distinct().ToList();
        }

        [Fact]
        public void Guests_stopped_together_are_stopped_in_parallel_and_leave_nothing()
        {
            var names = new[] { "p1", "p2" };
            using var ps = new PsSession();
            var started = ps.Run($"$h = Connect-MetalHost -Local -StateDirectory '{_state}'; " +
                                 string.Concat(names.Select(n => $"$h | Start-OpenBsdGuest -Name {n} -Image '{_image.Path}' -KeyFile '{_image.KeyFile}' -Memory 256MB -CpuCount 1 | Out-Null; ")) +
                                 "$h.Guests | ForEach-Object { $_.SshPort }");
            Assert.False(started.HadErrors, started.Describe());
            // No acpid: the power button does nothing, so each stop waits out its grace period and then kills.
            foreach (var port in started.Output.Select(o => o.ToString()))
                Tools.Sh($"ssh -q -i '{_image.KeyFile}' -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p {port} root@127.0.0.1 'killall acpid'");

            var stopping = ps.RunAsync("$h.Guests | Stop-OpenBsdGuest -GracePeriod 00:00:30 -PassThru");
            bool together = false;
            while (!stopping.IsCompleted && !together)
            {
                together = StopsRunning(names).Count == names.Length;
                Thread.Sleep(100);
            }
            Assert.True(stopping.Wait(TimeSpan.FromMinutes(5)), "the stops never returned");
            var r = stopping.Result;
            Assert.False(r.HadErrors, r.Describe());
            Assert.True(together, "the guests' stop scripts never ran at the same time");
            Assert.Equal(names.Length, r.All<OpenBsdGuest>().Count(g => g.State == GuestState.Stopped));
            Ec2Lab.AssertNoGuests(_state);
        }

        /// <summary>
        /// A guest's overlay is thrown away when it stops, so by default nothing waits for its ACPI power-off: Stop-OpenBsdGuest and
        /// Remove-MetalHost kill at once, even a guest whose acpid would power it off; a grace period asks for the power-off.
        /// </summary>
        [Fact]
        public void Guests_whose_disk_is_discarded_are_killed_at_once_unless_a_grace_period_is_asked_for()
        {
            using var ps = new PsSession();
            var started = ps.Run($"$h = Connect-MetalHost -Local -StateDirectory '{_state}'; " +
                                 string.Concat(new[] { "k1", "k2", "k3" }.Select(n => $"$h | Start-OpenBsdGuest -Name {n} -Image '{_image.Path}' -KeyFile '{_image.KeyFile}' -Memory 256MB -CpuCount 1 | Out-Null; ")));
            Assert.False(started.HadErrors, started.Describe());
            var r = ps.Run("$h.Guests | Where-Object Name -eq k1 | Stop-OpenBsdGuest -Verbose; $h.Guests | Where-Object Name -eq k2 | Stop-OpenBsdGuest -GracePeriod 00:01:00 -Verbose; $h | Remove-MetalHost -Verbose");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains(r.Verbose, v => v.Message == "Guest k1: Killed");
            Assert.Contains(r.Verbose, v => v.Message == "Guest k2: PoweredOff");
            Assert.Contains(r.Verbose, v => v.Message == "Guest k3: Killed");
            Ec2Lab.AssertNoGuests(_state);
        }
    }
}
