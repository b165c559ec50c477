using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Tests.Fixtures;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// Plays the part of EC2's boot for the emulator: when an instance is running, installs its key
    /// pair in the netns sshd (as cloud-init would) and runs its rendered user data as root inside the
    /// host (its namespaces), for real; its output is what the instance's console would show.
    /// Only the self-destruct is intercepted: a `shutdown` on PATH records its
    /// arguments instead of powering off the test machine. When EC2 ends the instance (terminated by
    /// the API, or underneath), what ran on it ends and its root volume is deleted (DeleteOnTermination):
    /// the namespace outlives the emulated instance, so the booter kills the QEMU processes under its
    /// state directory and deletes the guests' files once none of its instances runs any more.
    /// </summary>
    public sealed class InstanceBooter : IAsyncDisposable
    {
        private readonly Ec2Emulator _emulator;
        private readonly NetnsSshHost _ssh;
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly ConcurrentDictionary<string, bool> _booted = new ConcurrentDictionary<string, bool>();
        private readonly Task _loop;

        public InstanceBooter(Ec2Emulator emulator, NetnsSshHost ssh)
        {
            _emulator = emulator;
            _ssh = ssh;
            StateDirectory = Path.Combine(ssh.Directory, "boot-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            Directory.CreateDirectory(Path.Combine(StateDirectory, "bin"));
            File.WriteAllText(Path.Combine(StateDirectory, "bin", "shutdown"), $"#!/bin/sh\necho \"$@\" >> {StateDirectory}/shutdown.args\n");
            Tools.Sh($"chmod +x {StateDirectory}/bin/shutdown");
            _loop = Task.Run(LoopAsync);
        }

        /// <summary>Where the user data keeps its status file (OBB_STATE_DIR), private to this test.</summary>
        public string StateDirectory { get; }

        /// <summary>
        /// Each status update stays visible for a second (a `mv` on PATH that pauses first), so the
        /// client's one-second polling sees every phase; the bootstrap itself is otherwise instant here.
        /// </summary>
        public void SlowStatusUpdates()
        {
            File.WriteAllText(Path.Combine(StateDirectory, "bin", "mv"), "#!/bin/sh\nsleep 1.2\nexec /bin/mv \"$@\"\n");
            Tools.Sh($"chmod +x {StateDirectory}/bin/mv");
        }

        /// <summary>Set to false to keep instances from ever booting (their SSH then refuses our key).</summary>
        public bool Enabled { get; set; } = true;

        public string ShutdownArgs => File.Exists(Path.Combine(StateDirectory, "shutdown.args")) ? File.ReadAllText(Path.Combine(StateDirectory, "shutdown.args")).Trim() : "";
        public string BootLog => File.Exists(Path.Combine(StateDirectory, "boot.log")) ? File.ReadAllText(Path.Combine(StateDirectory, "boot.log")) : "";

        private volatile bool _instancesEnded;

        /// <summary>
        /// Waits (bounded) until the booter has ended what ran on its instances, once all of them are
        /// shutting down or terminated; returns at once while one still runs.
        /// </summary>
        public void WaitUntilInstancesEnded(TimeSpan bound)
        {
            var deadline = DateTime.UtcNow + bound;
            while (!_instancesEnded && AllEnded() && DateTime.UtcNow < deadline) Thread.Sleep(50);
        }

        private bool AllEnded()
        {
            var ours = _emulator.Instances.Values.Where(i => _booted.ContainsKey(i.InstanceId)).ToList();
            return ours.Count > 0 && ours.All(i => i.State is EmulatedInstanceState.ShuttingDown or EmulatedInstanceState.Terminated);
        }

        private void EndWhatRanOnTheInstances()
        {
            foreach (int pid in Tools.QemuProcesses(StateDirectory)) Tools.Sh($"kill -9 {pid}", allowFailure: true);
            Tools.Sh($"rm -rf '{StateDirectory}/guests/guests'", allowFailure: true);
            _instancesEnded = true;
        }

        private async Task LoopAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                if (!_instancesEnded && AllEnded()) EndWhatRanOnTheInstances();
                if (Enabled)
                {
                    foreach (var i in _emulator.Instances.Values.Where(i => i.State == EmulatedInstanceState.Running && !_booted.ContainsKey(i.InstanceId)))
                    {
                        _booted[i.InstanceId] = true;
                        _instancesEnded = false;
                        var key = _emulator.KeyPairs.Values.FirstOrDefault(k => k.KeyName == i.KeyName && k.Region == i.Region);
                        if (key != null)
                            File.AppendAllText(Path.Combine(_ssh.Directory, "authorized_keys"), $"environment=\"OBB_STATE_DIR={StateDirectory}\" {key.PublicKey}\n");
                        string script = Path.Combine(StateDirectory, i.InstanceId + ".sh");
                        File.WriteAllText(script, i.UserData ?? "");
                        Tools.Sh($"{_ssh.RootPrefix} env PATH={StateDirectory}/bin:$PATH OBB_STATE_DIR={StateDirectory} bash {script} >> {StateDirectory}/boot.log 2>&1", allowFailure: true);
                    }
                }
                try { await Task.Delay(100, _stop.Token); } catch (OperationCanceledException) { }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _loop;
        }
    }

    /// <summary>Console text as cloud-init prints it, with the given fingerprints.</summary>
    public static class ConsoleText
    {
        public static string With(params string[] fingerprints) =>
            "[   12.345678] cloud-init[1234]: Cloud-init v. 24.1 running 'modules:final'\n" +
            "ci-info: no authorized SSH keys fingerprints found for user ubuntu.\n" +
            "<14>Nov 23 11:00:00 cloud-init: #############################################################\n" +
            "-----BEGIN SSH HOST KEY FINGERPRINTS-----\n" +
            string.Concat(fingerprints.Select(f => $"256 {f} root@ip-172-31-0-10 (ED25519)\n")) +
            "-----END SSH HOST KEY FINGERPRINTS-----\n" +
            "<14>Nov 23 11:00:00 cloud-init: #############################################################\n";
    }
}
