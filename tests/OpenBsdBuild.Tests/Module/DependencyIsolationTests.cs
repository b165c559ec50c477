using System;
using System.Linq;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Module
{
    /// <summary>
    /// In a process that already loaded AWSSDK.Core 3.7 and SSH.NET 2024.2 (as AWS.Tools or Posh-SSH
    /// would), the module still works: its engine and dependencies load into their own
    /// AssemblyLoadContext. The process is separate because this test process references the engine.
    /// </summary>
    public sealed class DependencyIsolationTests : IClassFixture<DependencyIsolationTests.Host>, IAsyncLifetime
    {
        public sealed class Host : IDisposable
        {
            public NetnsSshHost Ssh { get; } = new NetnsSshHost();
            public void Dispose() => Ssh.Dispose();
        }

        private readonly NetnsSshHost _ssh;
        private Ec2Emulator _emulator = null!;

        public DependencyIsolationTests(Host host) => _ssh = host.Ssh;

        public async Task InitializeAsync() => _emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions());

        public async Task DisposeAsync() => await _emulator.DisposeAsync();

        [Fact]
        public void Cmdlets_work_next_to_other_versions_of_AWSSDK_and_SSH_NET()
        {
            string aws = $"-Region us-east-1 -AccessKey AKIDEXAMPLE -SecretKey secret -EndpointUrl '{_emulator.Endpoint}'";
            var (status, output) = RunIsolated(
                $"$h = {_ssh.ConnectCommand}; $h.Architecture; \"is MetalHost: $($h -is [OpenBsdBuild.Model.MetalHost])\"; $h | Remove-MetalHost; Get-MetalHost {aws}; 'done'");

            Assert.True(status == 0, output);
            Assert.Contains("output done", output);
            Assert.Matches("output (amd64|arm64)", output);
            Assert.Contains(_emulator.Requests, r => r.Action == "DescribeInstances");
            // The other module's versions stay where they were; ours live beside them.
            Assert.Contains("loaded AWSSDK.Core 3.3.0.0 DefaultAssemblyLoadContext", output);
            Assert.Contains("loaded Renci.SshNet 2024.2.0.1 DefaultAssemblyLoadContext", output);
            Assert.Contains("loaded AWSSDK.Core 4.0.0.0 DependencyLoadContext", output);
            Assert.Matches(@"loaded Renci\.SshNet 2026\.[0-9.]+ DependencyLoadContext", output);
            Assert.Contains("loaded OpenBsdBuild.Engine", output);
            Assert.DoesNotContain("OpenBsdBuild.Engine 0.1.0.0 Default", output);
            // The pipeline's types are where scripts can name them, and the engine's objects are of those types.
            Assert.Contains("output is MetalHost: True", output);
            Assert.Contains("loaded OpenBsdBuild.Model 0.1.0.0 DefaultAssemblyLoadContext", output);
        }

        private static (int Status, string Output) RunIsolated(string script) => IsolatedPowerShell.Run(Repo.ModuleManifest, script);
    }
}
