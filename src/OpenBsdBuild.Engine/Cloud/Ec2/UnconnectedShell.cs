using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>The shell of a host that Get-MetalHost listed but nobody connected to: it can only be removed.</summary>
    internal sealed class UnconnectedShell : IHostShell
    {
        public UnconnectedShell(string description) => Description = description;

        public string Description { get; }
        public bool IsLocal => false;

        private OpenBsdBuildException NotConnected() => new OpenBsdBuildException("HostNotConnected", FailureKind.InvalidOperation,
            $"{Description} was listed by Get-MetalHost; this session has no SSH connection to it.", Description,
            "Use the host New-MetalHost returned, or Connect-MetalHost -HostName <its address> with its key.");

        public Task<ShellResult> RunAsync(string command, CancellationToken cancellationToken) => throw NotConnected();
        public Task<int> StreamAsync(string command, Stream? input, Action<string>? onStdout, Action<string>? onStderr, CancellationToken cancellationToken) => throw NotConnected();
        public Task DownloadAsync(string path, Stream destination, Action<long>? progress, CancellationToken cancellationToken) => throw NotConnected();
        public Task<int> ReadAsync(string command, Stream? input, Func<Stream, Task> readOutput, Action<string>? onStderr, CancellationToken cancellationToken) => throw NotConnected();
        public Task UploadAsync(Stream source, string path, Action<long>? progress, CancellationToken cancellationToken) => throw NotConnected();
        public Task<Tunnel> OpenTunnelAsync(string host, int port, CancellationToken cancellationToken) => throw NotConnected();
        public Task<Tunnel> ExposeLocalPortAsync(int localPort, CancellationToken cancellationToken) => throw NotConnected();
        public void Dispose() { }
    }
}
