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
    /// A link that dies silently (the namespace's veth goes down) in each step of Start-OpenBsdGuest on an
    /// attached host: a real sshd in a network namespace, QEMU run there. The step is hit on purpose: root's
    /// ~/.bashrc, which bash reads before every command sshd runs, parks the one command of that step
    /// (recognised by its text in BASH_EXECUTION_STRING) and says so in a file, and the link goes down then.
    /// Each step must end as HostLost naming it within the link watch's ~20 s, not wait out TCP's retries;
    /// once the host answers again, the command the warning names removes what the start could not.
    /// </summary>
    [Collection(GuestReliabilityCollection.Name)]
    public sealed class GuestStartLinkLossTests : IDisposable
    {
        /// <summary>Only a hang guard (TCP would take ~15 min); the measured time goes to docs/reliability.md.</summary>
        private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(120);

        private readonly NetnsSshHost _ns = new NetnsSshHost();
        private readonly PsSession _ps = new PsSession();
        private readonly string _work = Directory.CreateTempSubdirectory("obb-startloss-").FullName;
        private string Bashrc => Path.Combine(_ns.Directory, "root-bashrc");
        private string Parked => Path.Combine(_ns.Directory, "parked.pid");

        public GuestStartLinkLossTests()
        {
            var r = _ps.Run("$h = " + _ns.ConnectCommand);
            Assert.False(r.HadErrors, r.Describe());
        }

        /// <summary>A blank arm64 disk: QEMU runs, the firmware finds nothing to boot, SSH never answers.</summary>
        private string Blank()
        {
            string path = Path.Combine(_work, "blank.qcow2");
            Tools.Sh($"qemu-img create -q -f qcow2 '{path}' 64M");
            return $"-Image '{path}' -Architecture arm64 -TrustHostKey -KeyFile '{TestGuestImage.Get().KeyFile}'";
        }

        /// <summary>From now on, the host's command whose text matches <paramref name="pattern"/> (a sh case pattern) never runs: it sleeps.</summary>
        private void Park(string pattern) =>
            File.WriteAllText(Bashrc, $"case \"$BASH_EXECUTION_STRING\" in {pattern}) echo $$ > '{Parked}'; exec sleep 600;; esac\n" + File.ReadAllText(Bashrc));

        private void StartAndCut(string pattern, string start, string step, string row, string userSees)
        {
            Park(pattern);
            var running = _ps.RunAsync("$h | " + start);
            var deadline = DateTime.UtcNow.AddSeconds(300);
            while (!File.Exists(Parked))
            {
                Assert.False(running.IsCompleted, $"the start ended before it was {step}: " + (running.IsCompleted ? running.Result.Describe() : ""));
                Assert.True(DateTime.UtcNow < deadline, "the start never got to " + step);
                Thread.Sleep(50);
            }
            var clock = Stopwatch.StartNew();
            _ns.LinkDown();
            try
            {
                Assert.True(running.Wait(HangGuard), $"Start-OpenBsdGuest hung after the link died while it was {step}");
                var took = clock.Elapsed;
                var r = running.Result;
                var e = r.FirstError;
                Assert.True(e != null, r.Describe());
                Assert.StartsWith("OpenBsdBuild.HostLost,", e!.FullyQualifiedErrorId);
                Assert.Equal(ErrorCategory.ConnectionError, e.CategoryInfo.Category);
                Assert.Contains($"while guest g1 was {step}", e.Exception.Message);
                Assert.Empty(r.All<OpenBsdGuest>());

                // Once the host answers again, the warning's command (if the start could not clean up) leaves nothing.
                _ns.LinkUp();
                Tools.Sh($"kill -9 $(cat '{Parked}')", allowFailure: true);
                File.WriteAllText(Bashrc, string.Concat(File.ReadAllLines(Bashrc).Skip(1).Select(l => l + "\n")));
                var warning = r.Warnings.Select(w => w.Message).FirstOrDefault(w => w.Contains("could not be removed"));
                if (warning != null)
                {
                    Assert.Contains("Get-OpenBsdGuest -Name g1 | Stop-OpenBsdGuest", warning);
                    var stopped = _ps.Run("$h = " + _ns.ConnectCommand + "; $h | Get-OpenBsdGuest -Name g1 | Stop-OpenBsdGuest");
                    Assert.False(stopped.HadErrors, stopped.Describe());
                }
                Ec2Lab.AssertNoGuests(_ns.StateDirectory);
                ReliabilityDoc.Row(row, userSees, took);
            }
            finally
            {
                _ns.LinkUp();
            }
        }

        private const string Sees = "OpenBsdBuild.HostLost naming the step, within ~20 s, not a hang";
        private const string SeesWithWarning = "OpenBsdBuild.HostLost naming the step, within ~20 s; a warning names the Stop-OpenBsdGuest that removes the guest once the host answers";

        [Fact]
        public void A_link_that_dies_while_the_image_is_inspected_is_HostLost()
        {
            StartAndCut("*OBB_LOADER_MEGABYTES*", "Start-OpenBsdGuest -Name g1 " + Blank(), "inspecting its image",
                "Start-OpenBsdGuest: the link to the host drops while the image is inspected", Sees);
        }

        [Fact]
        public void A_link_that_dies_during_the_firmware_lookup_is_HostLost()
        {
            StartAndCut("*OBB_CANDIDATES*", "Start-OpenBsdGuest -Name g1 " + Blank(), "looking for its UEFI firmware",
                "Start-OpenBsdGuest: the link to the host drops during the firmware lookup", Sees);
        }

        [Fact]
        public void A_link_that_dies_while_the_guest_files_are_made_is_HostLost()
        {
            StartAndCut("*'create -q -f qcow2'*", "Start-OpenBsdGuest -Name g1 " + Blank(), "preparing its files",
                "Start-OpenBsdGuest: the link to the host drops while the guest's files are made", SeesWithWarning);
        }

        [Fact]
        public void A_link_that_dies_while_QEMU_is_launched_is_HostLost()
        {
            StartAndCut("*-daemonize*", "Start-OpenBsdGuest -Name g1 " + Blank(), "launching QEMU",
                "Start-OpenBsdGuest: the link to the host drops while QEMU is launched", SeesWithWarning);
        }

        [Fact]
        public void A_link_that_dies_while_the_guest_boots_is_HostLost()
        {
            StartAndCut("*'echo alive'*", "Start-OpenBsdGuest -Name g1 -Memory 256MB -CpuCount 1 " + Blank(), "booting",
                "Start-OpenBsdGuest: the link to the host drops while the guest boots", SeesWithWarning);
        }

        [Fact]
        public void A_link_that_dies_while_the_serial_console_is_read_for_GuestNotReady_is_HostLost()
        {
            StartAndCut("*'tail -n 20'*", "Start-OpenBsdGuest -Name g1 -Memory 256MB -CpuCount 1 -BootTimeout 00:00:05 " + Blank(), "reading its serial console",
                "Start-OpenBsdGuest: the link to the host drops while the serial console is read after -BootTimeout", SeesWithWarning);
        }

        [Fact]
        public void A_link_that_dies_while_the_guest_is_recorded_is_HostLost()
        {
            var image = TestGuestImage.Get();
            StartAndCut("*'\"hostKeyFingerprint\":\"SHA256'*", $"Start-OpenBsdGuest -Name g1 -Image '{image.Path}' -KeyFile '{image.KeyFile}' -Memory 512MB -CpuCount 1",
                "being recorded on the host", "Start-OpenBsdGuest: the link to the host drops while the started guest is recorded", SeesWithWarning);
        }

        public void Dispose()
        {
            _ps.Dispose();
            foreach (int pid in Tools.QemuProcesses(_ns.StateDirectory)) Tools.Sh($"kill -9 {pid}", allowFailure: true);
            _ns.Dispose();
            Directory.Delete(_work, true);
        }
    }
}
