using System;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Images;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>Wires an <see cref="InstallerConversation"/> to an interactive <see cref="InstallerSimulator"/>.</summary>
    internal sealed class InstallerRun : IDisposable
    {
        private readonly CancellationTokenSource _cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        private readonly InMemoryPipe _screen = new InMemoryPipe();
        private readonly InMemoryPipe _keyboard = new InMemoryPipe();
        private readonly Task _installer;

        public InstallerRun(SimulatorScenario scenario, InstallOptions options, InstallerConversationSettings? settings = null)
        {
            Simulator = InstallerSimulator.Interactive(scenario, _screen.Writer, _keyboard.Reader);
            Conversation = new InstallerConversation(_screen.Reader, _keyboard.Writer, options, settings ?? InstallTestData.FastSettings());
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
