using System;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Images.Installer;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>Keeps what the engine reports, for assertions.</summary>
    internal sealed class RecordingReporter : IOperationReporter
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
        public System.Collections.Generic.IReadOnlyCollection<string> Messages => _messages.ToArray();
        public void Progress(string activity, string status, int percent = -1, int id = 0) => _messages.Enqueue($"progress: {activity}: {status}");
        public void ProgressDone(string activity, int id = 0) { }
        public void Verbose(string message) => _messages.Enqueue("verbose: " + message);
        public void Warning(string message) => _messages.Enqueue("warning: " + message);
        public void Information(string message, params string[] tags) => _messages.Enqueue($"{string.Join(",", tags)}: {message}");
    }

    /// <summary>Wires an <see cref="InstallerConversation"/> to an interactive <see cref="InstallerSimulator"/>.</summary>
    internal sealed class InstallerRun : IDisposable
    {
        private readonly CancellationTokenSource _cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        private readonly InMemoryPipe _screen = new InMemoryPipe();
        private readonly InMemoryPipe _keyboard = new InMemoryPipe();
        private readonly Task _installer;

        public InstallerRun(SimulatorScenario scenario, InstallOptions options, InstallerConversationSettings? settings = null,
            IOperationReporter? reporter = null)
        {
            Simulator = InstallerSimulator.Interactive(scenario, _screen.Writer, _keyboard.Reader);
            Conversation = new InstallerConversation(_screen.Reader, _keyboard.Writer, options, settings ?? InstallTestData.FastSettings(), reporter);
            _installer = Simulator.RunAsync(_cts.Token);
        }

        public InstallerSimulator Simulator { get; }
        public InstallerConversation Conversation { get; }
        public CancellationToken Token => _cts.Token;

        public async Task<InstallerConversationResult> RunAsync()
        {
            var result = await Conversation.RunAsync(_cts.Token);
            await _installer.WaitAsync(TimeSpan.FromSeconds(10));
            return result;
        }

        /// <summary>Stops the installer (for runs the conversation abandoned).</summary>
        public void Dispose()
        {
            _cts.Cancel();
            _keyboard.Complete();
            try { _installer.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
            _cts.Dispose();
        }
    }
}
