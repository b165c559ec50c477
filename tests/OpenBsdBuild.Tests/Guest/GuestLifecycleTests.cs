using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Guest
{
    /// <summary>Start/Get/Stop and every way Start-OpenBsdGuest can fail, with nothing left behind.</summary>
    [Collection(SharedGuestCollection.Name)]
    public class GuestLifecycleTests : IDisposable
    {
        private readonly SharedGuest _shared;
        private readonly string _state = Directory.CreateTempSubdirectory("obb-guest-").FullName;
        private readonly PsSession _ps;

        public GuestLifecycleTests(SharedGuest shared)
        {
            _shared = shared;
            _ps = shared.NewSession();
            var r = _ps.Run($"$local = Connect-MetalHost -Local -StateDirectory '{_state}'");
            Assert.False(r.HadErrors, r.Describe());
        }

        private string Start(string args) =>
            $"$local | Start-OpenBsdGuest -Image '{_shared.Image.Path}' -KeyFile '{_shared.Image.KeyFile}' -Memory 512MB -CpuCount 1 {args}";

        /// <summary>The error, and proof that the failure left no QEMU process and no guest files.</summary>
        private ErrorRecord FailsCleanly(PsResult r, string id, ErrorCategory category)
        {
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith($"OpenBsdBuild.{id},", e!.FullyQualifiedErrorId);
            Assert.Equal(category, e.CategoryInfo.Category);
            Assert.NotNull(e.TargetObject);
            Assert.False(string.IsNullOrEmpty(e.ErrorDetails?.RecommendedAction));
            Assert.Empty(r.All<OpenBsdGuest>());
            Assert.Empty(Tools.QemuProcesses(_state));
            string guests = Path.Combine(_state, "guests");
            Assert.True(!Directory.Exists(guests) || Directory.GetFileSystemEntries(guests).Length == 0,
                "left behind: " + string.Join(", ", Directory.Exists(guests) ? Directory.GetFileSystemEntries(guests) : Array.Empty<string>()));
            return e;
        }

        [Fact]
        public void Missing_image_is_object_not_found()
        {
            var e = FailsCleanly(_ps.Run($"$local | Start-OpenBsdGuest -Image '{_state}/nope.qcow2' -TrustHostKey -KeyFile '{_shared.Image.KeyFile}'"),
                "ImageNotFound", ErrorCategory.ObjectNotFound);
            Assert.Equal($"{_state}/nope.qcow2", e.TargetObject);
        }

        [Fact]
        public void An_image_that_is_neither_qcow2_nor_raw_is_invalid_data()
        {
            Tools.Sh($"qemu-img create -q -f vmdk {_state}/disk.vmdk 16M");
            FailsCleanly(_ps.Run($"$local | Start-OpenBsdGuest -Image '{_state}/disk.vmdk' -TrustHostKey -KeyFile '{_shared.Image.KeyFile}'"),
                "ImageFormatUnsupported", ErrorCategory.InvalidData);
        }

        [Fact]
        public void A_tilde_path_means_the_hosts_home()
        {
            var e = FailsCleanly(_ps.Run($"$local | Start-OpenBsdGuest -Image '~/obb-no-such-image.qcow2' -TrustHostKey -KeyFile '{_shared.Image.KeyFile}'"),
                "ImageNotFound", ErrorCategory.ObjectNotFound);
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            Tools.Sh($"qemu-img create -q -f vmdk {home}/obb-tilde-test.vmdk 1M");
            try
            {
                // Found through $HOME: now it fails on the format, not on the path.
                FailsCleanly(_ps.Run($"$local | Start-OpenBsdGuest -Image '~/obb-tilde-test.vmdk' -TrustHostKey -KeyFile '{_shared.Image.KeyFile}'"),
                    "ImageFormatUnsupported", ErrorCategory.InvalidData);
            }
            finally
            {
                File.Delete($"{home}/obb-tilde-test.vmdk");
            }
        }

        [Fact]
        public void A_directory_given_as_image_is_unreadable()
        {
            FailsCleanly(_ps.Run($"$local | Start-OpenBsdGuest -Image '{_state}' -TrustHostKey -KeyFile '{_shared.Image.KeyFile}'"),
                "ImageUnreadable", ErrorCategory.InvalidData);
        }

        [Fact]
        public void A_host_without_qemu_is_not_installed_and_says_what_to_install()
        {
            using var remote = new NetnsSshHost();
            string key = remote.AddKeyWithOnlyTools("noqemu", "sh", "uname", "grep", "head", "cat", "dirname", "basename", "qemu-img", "rm", "mkdir");
            var r = _ps.Run($"Connect-MetalHost -HostName {remote.Address} -User root -KeyFile '{key}' -HostKeyFingerprint {remote.HostKeyFingerprint} -StateDirectory '{_state}' | " +
                            $"Start-OpenBsdGuest -Image '{_shared.Image.Path}' -KeyFile '{_shared.Image.KeyFile}'");
            var e = FailsCleanly(r, "QemuNotInstalled", ErrorCategory.NotInstalled);
            Assert.Contains("qemu-system-aarch64", e.Exception.Message);
            Assert.Contains("apt-get install qemu-system-arm", e.ErrorDetails.RecommendedAction);
        }

        [Fact]
        public void No_firmware_is_not_installed()
        {
            FailsCleanly(_ps.Run(Start($"-FirmwareCode /nonexistent/CODE.fd -FirmwareVars /nonexistent/VARS.fd")),
                "FirmwareNotFound", ErrorCategory.NotInstalled);
        }

        [Fact]
        public void An_image_without_metadata_needs_a_fingerprint_or_explicit_trust()
        {
            var e = FailsCleanly(_ps.Run($"$local | Start-OpenBsdGuest -Image '{_shared.Image.PathWithoutMetadata}' -KeyFile '{_shared.Image.KeyFile}'"),
                "GuestHostKeyUnknown", ErrorCategory.SecurityError);
            Assert.Contains("-TrustHostKey", e.ErrorDetails.RecommendedAction);
        }

        [Fact]
        public void A_taken_port_is_resource_exists()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var e = FailsCleanly(_ps.Run(Start($"-SshPort {port}")), "PortInUse", ErrorCategory.ResourceExists);
            Assert.Equal(port, e.TargetObject);
        }

        [Fact]
        public void A_guest_that_never_answers_times_out_with_the_serial_console_tail()
        {
            // A blank disk: the firmware runs, finds nothing to boot, and SSH never comes.
            Tools.Sh($"qemu-img create -q -f raw {_state}/blank.img 64M");
            var e = FailsCleanly(_ps.Run($"$local | Start-OpenBsdGuest -Image '{_state}/blank.img' -Architecture arm64 -TrustHostKey -KeyFile '{_shared.Image.KeyFile}' -Memory 256MB -CpuCount 1 -BootTimeout 00:00:12"),
                "GuestNotReady", ErrorCategory.OperationTimeout);
            Assert.Contains("Last serial console lines", e.Exception.Message);
            Assert.DoesNotContain("printed nothing", e.Exception.Message);
        }

        [Fact]
        public void A_guest_presenting_another_host_key_is_refused_and_removed()
        {
            string wrong = "SHA256:" + new string('B', 43);
            var e = FailsCleanly(_ps.Run(Start($"-Name wrongkey -HostKeyFingerprint {wrong}")), "HostKeyMismatch", ErrorCategory.SecurityError);
            Assert.Contains(_shared.Image.HostKeyFingerprint, e.Exception.Message);
        }

        [Fact]
        public void A_key_the_guest_does_not_authorize_is_an_authentication_error()
        {
            string other = Path.Combine(_state, "other_key");
            Tools.Sh($"ssh-keygen -q -t ed25519 -N '' -f {other}");
            FailsCleanly(_ps.Run($"$local | Start-OpenBsdGuest -Name badkey -Image '{_shared.Image.Path}' -KeyFile '{other}' -Memory 512MB -CpuCount 1"),
                "AuthenticationFailed", ErrorCategory.AuthenticationError);
        }

        [Fact]
        public void WhatIf_says_what_would_happen_and_starts_nothing()
        {
            var r = _ps.Run(Start("-Name whatif -WhatIf"));
            Assert.False(r.HadErrors, r.Describe());
            Assert.Empty(r.Output);
            Assert.Contains($"What if: Performing the operation \"Start guest 'whatif' from image {_shared.Image.Path}\" on target \"local\".", _ps.Host.Text);
            Assert.Empty(Tools.QemuProcesses(_state));
        }

        [Fact]
        public void Confirm_answered_no_starts_nothing()
        {
            _ps.Host.ChoiceAnswer = 2;
            var r = _ps.Run(Start("-Name confirm -Confirm"));
            Assert.Single(_ps.Host.Prompts);
            Assert.Empty(r.Output);
            Assert.Empty(Tools.QemuProcesses(_state));
        }

        [Fact]
        public void Get_lists_guests_by_name_including_ones_from_other_sessions()
        {
            var list = _ps.Run("$h | Get-OpenBsdGuest -Name 'sha*'");
            Assert.False(list.HadErrors, list.Describe());
            var found = list.Single<OpenBsdGuest>();
            Assert.Same(_shared.Guest, found);
            Assert.Equal(GuestState.Running, found.State);
            Assert.Empty(_ps.Run("$h | Get-OpenBsdGuest -Name 'nomatch*'").Output);

            // Another session attached to the same host sees the guest as detached (no SSH session of its own).
            using var other = new PsSession();
            var detached = other.Run($"Connect-MetalHost -Local -StateDirectory '{_shared.StateDirectory}' | Get-OpenBsdGuest").Single<OpenBsdGuest>();
            Assert.Equal("shared", detached.Name);
            Assert.Equal(GuestState.Detached, detached.State);
            Assert.Equal(_shared.Guest.SshPort, detached.SshPort);
            Assert.Equal(_shared.Guest.ProcessId, detached.ProcessId);
        }

        [Fact]
        public void Two_guests_share_a_host_and_Stop_powers_them_off_and_deletes_their_files()
        {
            var started = _ps.Run("$a = " + Start("-Name one") + "; $b = " + Start("-Name two") + "; $a; $b");
            Assert.False(started.HadErrors, started.Describe());
            var guests = started.All<OpenBsdGuest>().ToList();
            Assert.Equal(2, guests.Count);
            Assert.NotEqual(guests[0].SshPort, guests[1].SshPort);
            Assert.Equal(2, Tools.QemuProcesses(_state).Length);
            // Both build at once; each result and each line is tagged with its guest; logs land in ./artifacts/<guest>.
            var both = _ps.Run($"$ExecutionContext.SessionState.Path.SetLocation('{_state}'); $a, $b | Invoke-GuestBuild -Command 'echo \"I am $(hostname)\"; sleep 2' -ThrottleLimit 2");
            Assert.False(both.HadErrors, both.Describe());
            Assert.Equal(new[] { "one", "two" }, both.All<GuestBuildResult>().Select(x => x.GuestName).OrderBy(n => n));
            Assert.Contains(both.Information, i => i.Tags.Contains("one"));
            Assert.Contains(both.Information, i => i.Tags.Contains("two"));
            // They overlapped: each started before the other ended (an order, not a time a loaded machine must meet).
            var (x1, x2) = (both.All<GuestBuildResult>().First(), both.All<GuestBuildResult>().Last());
            Assert.True(x1.StartedAt < x2.StartedAt + x2.Duration && x2.StartedAt < x1.StartedAt + x1.Duration, "the two builds should overlap");
            Assert.True(File.Exists(Path.Combine(_state, "artifacts", "one", "build.log")));
            Assert.True(File.Exists(Path.Combine(_state, "artifacts", "two", "build.log")));

            _ps.Run("$a | Stop-OpenBsdGuest -WhatIf; $local | Remove-MetalHost -WhatIf");
            Assert.Contains("What if: Performing the operation \"Stop guest and delete its overlay\" on target \"one on local\".", _ps.Host.Text);
            Assert.Contains("What if: Performing the operation \"Stop its guests and disconnect (the machine itself is kept)\" on target \"local\".", _ps.Host.Text);
            Assert.Equal(2, Tools.QemuProcesses(_state).Length);

            var stopped = _ps.Run("$local | Get-OpenBsdGuest | Stop-OpenBsdGuest -GracePeriod 00:00:20 -PassThru -Verbose");
            Assert.False(stopped.HadErrors, stopped.Describe());
            Assert.Equal(2, stopped.All<OpenBsdGuest>().Count());
            Assert.All(guests, g => Assert.Equal(GuestState.Stopped, g.State));
            Assert.Contains(stopped.Verbose, v => v.Message == "Guest one: PoweredOff");
            Assert.Contains(stopped.Verbose, v => v.Message == "Guest two: PoweredOff");
            Assert.Empty(Tools.QemuProcesses(_state));
            Assert.All(guests, g => Assert.False(Directory.Exists(g.StateDirectory)));
            Assert.Empty(_ps.Run("$local | Get-OpenBsdGuest").Output);
        }

        public void Dispose()
        {
            _ps.Run("$local | Remove-MetalHost");
            _ps.Dispose();
            Directory.Delete(_state, true);
        }
    }
}
