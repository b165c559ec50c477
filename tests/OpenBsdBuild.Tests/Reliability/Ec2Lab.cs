using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;
using Xunit;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// EC2 as the one-shot flow meets it: the EC2 emulator over the real AWS SDK, a netns sshd as
    /// the instance (its user data really runs there), and QEMU guests started on it. Knows how to
    /// check that nothing is left: no instance, group or key pair, no QEMU, no guest files.
    /// </summary>
    public sealed class Ec2Lab : IAsyncDisposable
    {
        private Ec2Lab(NetnsSshHost ssh, Ec2Emulator emulator)
        {
            Ssh = ssh;
            Emulator = emulator;
            emulator.AddressProvider = _ => (ssh.Address, null);
            emulator.ConsoleOutputProvider = _ => ConsoleText.With(ssh.HostKeyFingerprint);
            Booter = new InstanceBooter(emulator, ssh);
        }

        public static async Task<Ec2Lab> StartAsync(NetnsSshHost ssh) => new Ec2Lab(ssh, await Ec2Emulator.StartAsync(new Ec2EmulatorOptions()));

        public NetnsSshHost Ssh { get; }
        public Ec2Emulator Emulator { get; }
        public InstanceBooter Booter { get; }
        /// <summary>Where the hosts' guests live (the netns shares this file system).</summary>
        public string GuestState => Booter.StateDirectory + "/guests";

        public string Aws => $"-Region us-east-1 -AccessKey AKIDEXAMPLE -SecretKey secret -EndpointUrl '{Emulator.Endpoint}'";
        /// <summary>The launch parameters every test host gets (the netns sshd is root's).</summary>
        public string Launch => $"{Aws} -AllowedCidr 198.51.100.7/32 -SshUser root -StateDirectory '{GuestState}'";

        public string InstanceId => Emulator.Instances.Keys.Single();

        public void AssertNothingLeft()
        {
            // Groups of instances still shutting down are finished in the background: wait for that, bounded.
            Ec2Teardown.WhenPendingDone().Wait(TimeSpan.FromSeconds(30));
            Assert.All(Emulator.Instances.Values, i => Assert.Equal(EmulatedInstanceState.Terminated, i.State));
            Assert.DoesNotContain(Emulator.SecurityGroups.Values, g => !g.IsDefault);
            Assert.Empty(Emulator.KeyPairs.Values);
            AssertNoGuests(GuestState);
        }

        /// <summary>No QEMU runs for <paramref name="stateDirectory"/> and no guest's files are left there.</summary>
        public static void AssertNoGuests(string stateDirectory)
        {
            Assert.Empty(Tools.QemuProcesses(stateDirectory));
            string guests = Path.Combine(stateDirectory, "guests");
            Assert.True(!Directory.Exists(guests) || Directory.GetFileSystemEntries(guests).Length == 0,
                "guest files left: " + (Directory.Exists(guests) ? string.Join(", ", Directory.GetFileSystemEntries(guests)) : ""));
        }

        public async ValueTask DisposeAsync()
        {
            await Booter.DisposeAsync();
            var bugs = Emulator.UnhandledExceptions;
            // Whatever a failed test left running in the namespace.
            foreach (int pid in Tools.QemuProcesses(GuestState)) Tools.Sh($"kill -9 {pid}", allowFailure: true);
            await Emulator.DisposeAsync();
            Assert.Empty(bugs);
        }
    }
}
