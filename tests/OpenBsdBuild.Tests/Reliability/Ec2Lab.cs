using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;

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

        /// <param name="seen">What the run printed, for the failure message.</param>
        public void AssertNothingLeft(Harness.PsResult? seen = null)
        {
            // Groups of instances still shutting down are finished in the background: wait for that, bounded.
            Ec2Teardown.WhenPendingDone().Wait(TimeSpan.FromSeconds(30));
            string context = seen == null ? "" : "\n" + seen.Describe() + "\nwarnings: " + string.Join("\n", seen.Warnings.Select(w => w.Message));
            Assert.True(Emulator.Instances.Values.All(i => i.State == EmulatedInstanceState.Terminated), "instances left" + context);
            Assert.True(!Emulator.SecurityGroups.Values.Any(g => !g.IsDefault), "security groups left" + context);
            Assert.True(Emulator.KeyPairs.Count == 0, "key pairs left" + context);
            // What ran on a terminated instance ends with it (the booter plays that part of EC2).
            Booter.WaitUntilInstancesEnded(TimeSpan.FromSeconds(30));
            AssertNoGuests(GuestState);
            AssertNoKeyFiles();
        }

        /// <summary>The ephemeral host keys written for this lab's instances are gone (their comment is the instance's Name tag).</summary>
        public void AssertNoKeyFiles()
        {
            string root = Path.Combine(Path.GetTempPath(), "openbsdbuild-keys");
            if (!Directory.Exists(root)) return;
            var names = Emulator.Instances.Values.Select(i => i.Tags.TryGetValue("Name", out var n) ? n : null).Where(n => n != null).ToList();
            foreach (string file in Directory.GetFiles(root, "id_ed25519", SearchOption.AllDirectories))
            {
                string body;
                try { body = string.Concat(File.ReadAllLines(file).Where(l => !l.StartsWith("-----"))); }
                catch (IOException) { continue; } // deleted meanwhile
                string decoded = System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(body));
                Assert.DoesNotContain(names, n => decoded.Contains(n!));
            }
        }

        /// <summary>Runs a command in a guest of this lab's host as root, through the namespace (where its forward is), with plain ssh.</summary>
        /// <param name="stateDirectory">The state directory of the guest's host in the namespace; default this lab's instances'.</param>
        public string GuestSh(string guestName, string keyFile, string command, string? stateDirectory = null)
        {
            string record = Path.Combine(stateDirectory ?? GuestState, "guests", guestName, "guest.json");
            if (!File.Exists(record)) return "";
            var port = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(record), "\"sshPort\"\\s*:\\s*(\\d+)");
            if (!port.Success) return "";
            return Ssh.Exec($"ssh -q -i {keyFile} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -p {port.Groups[1].Value} root@127.0.0.1 \"{command}\"", allowFailure: true);
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
