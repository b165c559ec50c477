using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// One network namespace per reliability collection: the tests of a collection run one after another, because a
    /// test that takes the link down takes it down for every test in that namespace. The collections run side by side.
    /// </summary>
    public sealed class ReliabilityNamespace : IDisposable
    {
        public NetnsSshHost Ssh { get; } = new NetnsSshHost();
        public void Dispose() => Ssh.Dispose();
    }

    /// <summary>The one-shot flow (Invoke-OpenBsdBuild): failures, Ctrl+C, a killed client.</summary>
    [CollectionDefinition(Name)]
    public sealed class ReliabilityCollection : ICollectionFixture<ReliabilityNamespace>
    {
        public const string Name = "Reliability";
    }

    /// <summary>The documented pipelines and their failures.</summary>
    [CollectionDefinition(Name)]
    public sealed class PipelineReliabilityCollection : ICollectionFixture<ReliabilityNamespace>
    {
        public const string Name = "Reliability of pipelines";
    }

    /// <summary>Starting and stopping guests when the host misbehaves (each test brings its own namespace).</summary>
    [CollectionDefinition(Name)]
    public sealed class GuestReliabilityCollection
    {
        public const string Name = "Reliability of guest start and stop";
    }

    /// <summary>What the one-shot tests share: a fresh EC2 lab per test, sources, the test guest's parameters, Ctrl+C at a chosen moment.</summary>
    public abstract class OneShotTestBase : IAsyncLifetime
    {
        private readonly NetnsSshHost _ssh;
        protected readonly string Work = Directory.CreateTempSubdirectory("obb-reliability-").FullName;
        protected readonly TestGuestImage.Built Image = TestGuestImage.Get();
        protected Ec2Lab Lab = null!;

        protected OneShotTestBase(ReliabilityNamespace ns) => _ssh = ns.Ssh;

        public async Task InitializeAsync() => Lab = await Ec2Lab.StartAsync(_ssh);

        public async Task DisposeAsync()
        {
            await Lab.DisposeAsync();
            Directory.Delete(Work, true);
        }

        protected string Artifacts => Path.Combine(Work, "artifacts");

        protected string Sources()
        {
            string src = Path.Combine(Work, "src");
            Directory.CreateDirectory(src);
            File.WriteAllText(Path.Combine(src, "words.txt"), "one shot\n");
            File.WriteAllText(Path.Combine(src, "build.sh"), "set -e\nmkdir -p out\ntr a-z A-Z < words.txt > out/upper.txt\necho built\n");
            return src;
        }

        /// <summary>The sources with a 48 MB incompressible blob: on the throttled link the upload takes ~25 s.</summary>
        protected string BigSources()
        {
            string src = Sources();
            var bytes = new byte[48 << 20];
            new Random(7).NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(src, "blob.bin"), bytes);
            return src;
        }

        /// <summary>The size of the artifact files still being downloaded (*.partial) under <see cref="Artifacts"/>.</summary>
        protected long PartialArtifacts() => Directory.Exists(Artifacts)
            ? System.Linq.Enumerable.Sum(Directory.GetFiles(Artifacts, "*.partial", SearchOption.AllDirectories), f => { try { return new FileInfo(f).Length; } catch (IOException) { return 0L; } })
            : 0;

        protected string Guest => $"-Image '{Image.Path}' -KeyFile '{Image.KeyFile}' -Memory 512MB -CpuCount 1 -MinFreeSpace 64MB -Destination '{Artifacts}'";

        /// <summary>Invoke-OpenBsdBuild on a new EC2 host with guest <paramref name="guestName"/>, building in /usr/obj/&lt;guestName&gt;.</summary>
        protected string OneShot(string command, string extra = "", string guestName = "g1") =>
            $"Invoke-OpenBsdBuild {Lab.Launch} {Guest} -GuestName {guestName} -WorkingDirectory /usr/obj/{guestName} -Path '{Sources()}' -Command '{command}' {extra}";

        /// <summary>True once the build in guest <paramref name="guestName"/> runs (its pid file exists).</summary>
        /// <param name="stateDirectory">The state directory of the guest's host in the namespace; default the EC2 lab's.</param>
        protected bool BuildRuns(string guestName, string? stateDirectory = null) =>
            Lab.GuestSh(guestName, Image.KeyFile, $"test -e /usr/obj/{guestName}.pid && echo yes", stateDirectory).Trim() == "yes";

        /// <summary>How many KiB the guest's working directory /usr/obj/<paramref name="guestName"/> holds (an upload's progress).</summary>
        /// <param name="stateDirectory">The state directory of the guest's host in the namespace; default the EC2 lab's.</param>
        protected long GuestKiB(string guestName, string? stateDirectory = null) =>
            long.TryParse(Lab.GuestSh(guestName, Image.KeyFile, $"du -sk /usr/obj/{guestName} 2>/dev/null | cut -f1", stateDirectory).Trim(), out long k) ? k : 0;

        /// <summary>True once guest <paramref name="guestName"/>'s QEMU runs and Start-OpenBsdGuest waits for its SSH (its record names the port and pid).</summary>
        /// <param name="stateDirectory">The host's state directory; default the EC2 lab's.</param>
        protected bool GuestBooting(string guestName, string? stateDirectory = null)
        {
            stateDirectory ??= Lab.GuestState;
            string record = Path.Combine(stateDirectory, "guests", guestName, "guest.json");
            try { return Tools.QemuProcesses(stateDirectory).Length > 0 && File.Exists(record) && System.Text.RegularExpressions.Regex.IsMatch(File.ReadAllText(record), "\"pid\"\\s*:\\s*\\d"); }
            catch (IOException) { return false; }
        }

        private string Bashrc => Path.Combine(Lab.Ssh.Directory, "root-bashrc");
        private string ParkedPid => Path.Combine(Lab.Ssh.Directory, "parked.pid");

        /// <summary>True once a command parked by <see cref="ParkOnHost"/> has reached the host.</summary>
        protected bool Parked => File.Exists(ParkedPid);

        /// <summary>
        /// Until disposed, the host's command whose text matches <paramref name="pattern"/> (a sh case pattern) never runs: it
        /// sleeps, and <see cref="Parked"/> says so. Root's ~/.bashrc does it: bash reads it before every command sshd runs.
        /// </summary>
        protected IDisposable ParkOnHost(string pattern)
        {
            string original = File.ReadAllText(Bashrc);
            File.Delete(ParkedPid);
            File.WriteAllText(Bashrc, $"case \"$BASH_EXECUTION_STRING\" in {pattern}) echo $$ >> '{ParkedPid}'; exec sleep 600;; esac\n" + original);
            return new Undo(() =>
            {
                File.WriteAllText(Bashrc, original);
                if (File.Exists(ParkedPid)) Tools.Sh($"kill -9 $(cat '{ParkedPid}')", allowFailure: true);
                File.Delete(ParkedPid);
            });
        }

        /// <summary>
        /// Until released (or disposed), the host's command whose text matches <paramref name="pattern"/> (a sh case pattern)
        /// waits before it runs, and <see cref="HostHold.Reached"/> says it got there; root's ~/.bashrc does it, as in <see cref="ParkOnHost"/>.
        /// </summary>
        protected HostHold HoldOnHost(string pattern)
        {
            string original = File.ReadAllText(Bashrc);
            var hold = new HostHold(Path.Combine(Lab.Ssh.Directory, "hold"), Path.Combine(Lab.Ssh.Directory, "held"), () => File.WriteAllText(Bashrc, original));
            File.WriteAllText(hold.HoldFile, "");
            File.Delete(hold.HeldFile);
            File.WriteAllText(Bashrc, $"case \"$BASH_EXECUTION_STRING\" in {pattern}) : > '{hold.HeldFile}'; while [ -e '{hold.HoldFile}' ]; do sleep 0.1; done;; esac\n" + original);
            return hold;
        }

        protected sealed class HostHold : IDisposable
        {
            private Action? _restore;
            public HostHold(string holdFile, string heldFile, Action restore) { HoldFile = holdFile; HeldFile = heldFile; _restore = restore; }
            public string HoldFile { get; }
            public string HeldFile { get; }
            public bool Reached => File.Exists(HeldFile);
            public void Release() => File.Delete(HoldFile);
            public void Dispose()
            {
                Release();
                _restore?.Invoke();
                _restore = null;
                File.Delete(HeldFile);
            }
        }

        /// <summary>
        /// From now on, guest <paramref name="guestName"/>'s command whose text matches <paramref name="pattern"/> (a sh case pattern)
        /// never runs: it sleeps, and <see cref="ParkedInGuest"/> says so. dropbear runs each command as `/bin/sh -c command`
        /// and execs /bin/sh anew for each, so a /bin/sh that looks at the text first also catches sessions already open.
        /// </summary>
        protected void ParkInGuest(string guestName, string pattern)
        {
            string shell = "#!/bin/busybox sh\n" +
                           $"if [ \"$1\" = -c ]; then case \"$2\" in {pattern}) echo $$ > /tmp/obb-parked; exec /bin/busybox sleep 600;; esac; fi\n" +
                           "exec /bin/busybox sh \"$@\"\n";
            string encoded = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(shell));
            // Renamed into place in /bin's own file system, so no command finds /bin/sh half written.
            string said = Lab.GuestSh(guestName, Image.KeyFile, $"echo {encoded} | base64 -d > /bin/.sh.park && chmod 755 /bin/.sh.park && mv -f /bin/.sh.park /bin/sh && echo in-place");
            Assert.Equal("in-place", said.Trim());
        }

        /// <summary>True once a command parked by <see cref="ParkInGuest"/> has reached guest <paramref name="guestName"/>.</summary>
        protected bool ParkedInGuest(string guestName) =>
            Lab.GuestSh(guestName, Image.KeyFile, "test -e /tmp/obb-parked && echo yes").Trim() == "yes";

        /// <summary>
        /// Until disposed, both directions of the link to the host run at ~16 Mbit/s, so a transfer is still under way when
        /// the link is cut.
        /// </summary>
        protected IDisposable ThrottleLink()
        {
            var ns = Lab.Ssh;
            string outer = Tools.Sh($"ip -o addr show to {ns.OuterAddress} | awk '{{print $2}}'").Trim();
            string inner = "obbi" + outer.Substring(4).Replace('a', 'n'); // NetnsSshHost names the pair obbv<pid>a<id> / obbi<pid>n<id>
            Tools.Sh($"tc qdisc add dev {outer} root tbf rate 16mbit burst 64kb latency 400ms");
            Tools.Sh($"ip netns exec {ns.Namespace} tc qdisc add dev {inner} root tbf rate 16mbit burst 64kb latency 400ms");
            return new Undo(() =>
            {
                Tools.Sh($"tc qdisc del dev {outer} root", allowFailure: true);
                Tools.Sh($"ip netns exec {ns.Namespace} tc qdisc del dev {inner} root", allowFailure: true);
            });
        }

        private sealed class Undo : IDisposable
        {
            private Action? _undo;
            public Undo(Action undo) => _undo = undo;
            public void Dispose() { _undo?.Invoke(); _undo = null; }
        }

        /// <summary>What Invoke-OpenBsdBuild -Verbose said its clean-up took.</summary>
        protected static TimeSpan CleanupTime(PsResult r)
        {
            var said = System.Linq.Enumerable.Last(r.Verbose, v => v.Message.StartsWith("Clean-up took ", StringComparison.Ordinal)).Message;
            return TimeSpan.FromSeconds(double.Parse(said.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture));
        }

        /// <summary>
        /// Waits until <paramref name="reached"/> holds while <paramref name="running"/> goes on; fails at once if the pipeline
        /// ends first. No deadline: a stage that is never reached is a hang, and hangs are the per-test hang guard's
        /// (Harness/HangGuard.cs), not a timed assertion that a loaded machine could trip.
        /// </summary>
        protected static void WaitFor(Func<bool> reached, Task running, string what)
        {
            while (!reached())
            {
                if (running.IsCompleted) throw new InvalidOperationException($"The pipeline ended before {what}: {((Task<PsResult>)running).Result.Describe()}");
                Thread.Sleep(100);
            }
        }

        /// <summary>Ctrl+C once <paramref name="reached"/> holds; returns the stopped result and how long the stop took (for the doc row, not checked).</summary>
        protected static (PsResult result, TimeSpan took) CancelWhen(PsSession ps, string script, Func<bool> reached, string stage)
        {
            var running = ps.RunAsync(script);
            WaitFor(reached, running, stage);
            var clock = Stopwatch.StartNew();
            ps.Stop();
            var r = running.Result;
            var took = clock.Elapsed;
            Assert.True(r.Stopped, $"Ctrl+C at {stage} did not stop the pipeline: " + r.Describe());
            return (r, took);
        }

        /// <summary>Runs <paramref name="script"/>, applies <paramref name="fault"/> once <paramref name="reached"/> holds, and times how long until it returns (for the doc row, not checked).</summary>
        protected static (PsResult result, TimeSpan took) FaultWhen(PsSession ps, string script, Func<bool> reached, string stage, Action fault)
        {
            var running = ps.RunAsync(script);
            WaitFor(reached, running, stage);
            var clock = Stopwatch.StartNew();
            fault();
            var r = running.Result;
            return (r, clock.Elapsed);
        }

        /// <summary>
        /// Far above the ~20 s in which the link watch notices a dead link (plus a bounded teardown) on a loaded machine, far
        /// below the ~15 min after which TCP gives up on its own (net.ipv4.tcp_retries2 = 15).
        /// </summary>
        private static readonly TimeSpan LinkLossNoticed = TimeSpan.FromMinutes(5);

        /// <summary>
        /// The link to the host dies in one phase of <paramref name="script"/>, on a throttled link (a transfer is still under
        /// way at the cut): the link goes down once <paramref name="reached"/> holds, or, when it is null, where the script
        /// calls <c>$cut.Invoke()</c> (a pass-through stage, so the next stage starts on a dead link). <paramref name="check"/>
        /// asserts what the user got while the link is still down; then the link comes back, nothing may be left, and the
        /// row of docs/reliability.md is checked.
        /// </summary>
        protected void LinkDies(string script, Func<bool>? reached, string phase, Action<PsResult> check, string row, string userSees)
        {
            using var ps = new PsSession();
            using var throttled = ThrottleLink();
            try
            {
                var clock = new Stopwatch();
                Task<PsResult> running;
                if (reached != null)
                {
                    running = ps.RunAsync(script);
                    WaitFor(reached, running, phase);
                    clock.Start();
                    Lab.Ssh.LinkDown();
                }
                else
                {
                    ps.Set("cut", (Action)(() => { clock.Start(); Lab.Ssh.LinkDown(); }));
                    running = ps.RunAsync(script);
                }
                // Not a speed check: a dead link that only TCP's retries end (~15 min here) must fail the test, and the
                // per-test hang guard (20 min) would let it pass.
                Assert.True(running.Wait(LinkLossNoticed), $"The link died at {phase} and the pipeline had not returned {LinkLossNoticed.TotalMinutes:0} min later: nothing noticed it.");
                var r = running.Result;
                var took = clock.Elapsed;
                check(r);
                Lab.Ssh.LinkUp();
                Lab.AssertNothingLeft(r);
                ReliabilityDoc.Row(row, userSees, took);
            }
            finally
            {
                Lab.Ssh.LinkUp();
            }
        }
    }
}
