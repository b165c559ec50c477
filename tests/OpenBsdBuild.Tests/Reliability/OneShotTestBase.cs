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
        /// <summary>The engine's bound on a clean-up when nothing answers (declared first: statics initialize in order).</summary>
        protected static readonly TimeSpan TeardownBound = OpenBsdBuild.Flow.OneShotBuild.TeardownBound;

        /// <summary>
        /// Only a hang guard, not a speed check (the measured times go to docs/reliability.md): the clean-up after Ctrl+C is
        /// bounded by the engine's teardown bound, which a loaded machine may use up; a hang would be TCP's ~15 min.
        /// </summary>
        protected static readonly TimeSpan HangGuard = TeardownBound + TimeSpan.FromSeconds(30);

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

        protected string Guest => $"-Image '{Image.Path}' -KeyFile '{Image.KeyFile}' -Memory 512MB -CpuCount 1 -MinFreeSpace 64MB -Destination '{Artifacts}'";

        /// <summary>Invoke-OpenBsdBuild on a new EC2 host with guest <paramref name="guestName"/>, building in /usr/obj/&lt;guestName&gt;.</summary>
        protected string OneShot(string command, string extra = "", string guestName = "g1") =>
            $"Invoke-OpenBsdBuild {Lab.Launch} {Guest} -GuestName {guestName} -WorkingDirectory /usr/obj/{guestName} -Path '{Sources()}' -Command '{command}' {extra}";

        /// <summary>True once the build in guest <paramref name="guestName"/> runs (its pid file exists).</summary>
        protected bool BuildRuns(string guestName) =>
            Lab.GuestSh(guestName, Image.KeyFile, $"test -e /usr/obj/{guestName}.pid && echo yes").Trim() == "yes";

        /// <summary>True once guest <paramref name="guestName"/>'s QEMU runs and Start-OpenBsdGuest waits for its SSH (its record names the port and pid).</summary>
        protected bool GuestBooting(string guestName)
        {
            string record = Path.Combine(Lab.GuestState, "guests", guestName, "guest.json");
            try { return Tools.QemuProcesses(Lab.GuestState).Length > 0 && File.Exists(record) && System.Text.RegularExpressions.Regex.IsMatch(File.ReadAllText(record), "\"pid\"\\s*:\\s*\\d"); }
            catch (IOException) { return false; }
        }

        /// <summary>What Invoke-OpenBsdBuild -Verbose said its clean-up took.</summary>
        protected static TimeSpan CleanupTime(PsResult r)
        {
            var said = System.Linq.Enumerable.Last(r.Verbose, v => v.Message.StartsWith("Clean-up took ", StringComparison.Ordinal)).Message;
            return TimeSpan.FromSeconds(double.Parse(said.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture));
        }

        /// <summary>Waits (bounded) until <paramref name="reached"/> holds while <paramref name="running"/> goes on.</summary>
        protected static void WaitFor(Func<bool> reached, Task running, string what, int seconds = 180)
        {
            var deadline = DateTime.UtcNow.AddSeconds(seconds);
            while (!reached())
            {
                if (running.IsCompleted) throw new InvalidOperationException($"The pipeline ended before {what}: {((Task<PsResult>)running).Result.Describe()}");
                if (DateTime.UtcNow > deadline) throw new TimeoutException("Never reached: " + what);
                Thread.Sleep(100);
            }
        }

        /// <summary>Ctrl+C once <paramref name="reached"/> holds; returns the stopped result and how long the stop took.</summary>
        protected static (PsResult result, TimeSpan took) CancelWhen(PsSession ps, string script, Func<bool> reached, string stage)
        {
            var running = ps.RunAsync(script);
            WaitFor(reached, running, stage);
            var clock = Stopwatch.StartNew();
            ps.Stop();
            Assert.True(running.Wait(TimeSpan.FromSeconds(120)), $"Ctrl+C at {stage} never returned");
            var took = clock.Elapsed;
            var r = running.Result;
            Assert.True(r.Stopped, $"Ctrl+C at {stage} did not stop the pipeline: " + r.Describe());
            Assert.True(took < HangGuard, $"Ctrl+C at {stage} took {took}; it said: " + string.Join("\n", System.Linq.Enumerable.Select(r.Verbose, v => v.Message)));
            return (r, took);
        }

        /// <summary>Runs <paramref name="script"/>, applies <paramref name="fault"/> once <paramref name="reached"/> holds, and times how long until it returns.</summary>
        protected static (PsResult result, TimeSpan took) FaultWhen(PsSession ps, string script, Func<bool> reached, string stage, Action fault, TimeSpan bound)
        {
            var running = ps.RunAsync(script);
            WaitFor(reached, running, stage);
            var clock = Stopwatch.StartNew();
            fault();
            Assert.True(running.Wait(TimeSpan.FromSeconds(180)), $"after the fault at {stage} the cmdlet never returned");
            var took = clock.Elapsed;
            Assert.True(took < bound, $"after the fault at {stage} it took {took}");
            return (running.Result, took);
        }
    }
}
