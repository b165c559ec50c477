using System;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Hosts
{
    /// <summary>Attaches to machines that already exist: this one, or a Linux box over SSH.</summary>
    public static class HostConnector
    {
        public static async Task<MetalHost> ConnectLocalAsync(string? stateDirectory, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            if (Environment.OSVersion.Platform != PlatformID.Unix)
                throw new OpenBsdBuildException("LocalHostUnsupported", FailureKind.NotImplemented,
                    "This machine cannot host guests: local guests need Linux or macOS with QEMU.", "local",
                    "Use Connect-MetalHost -HostName to attach a Linux machine over SSH, or New-MetalHost for EC2 metal.");
            var shell = new LocalShell();
            var caps = await HostProbe.ProbeAsync(shell, cancellationToken).ConfigureAwait(false);
            reporter.Verbose($"This machine: {caps.OperatingSystem} {caps.Architecture}, accelerator {caps.NativeAccelerator}{(caps.KvmProblem == null ? "" : " (" + caps.KvmProblem + ")")}");
            return new MetalHost(HostProvider.Local, "local", shell, caps, StateDirectoryFor(caps, stateDirectory));
        }

        public static async Task<MetalHost> ConnectSshAsync(SshTarget target, string? stateDirectory, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            var shell = await SshShell.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
            try
            {
                var caps = await HostProbe.ProbeWatchedAsync(shell, target.Host, "Nothing was attached.", cancellationToken).ConfigureAwait(false);
                reporter.Verbose($"{target.Host}: {caps.OperatingSystem} {caps.Architecture}, accelerator {caps.NativeAccelerator}{(caps.KvmProblem == null ? "" : " (" + caps.KvmProblem + ")")}");
                return new MetalHost(HostProvider.Ssh, target.Host, shell, caps, StateDirectoryFor(caps, stateDirectory))
                {
                    HostName = target.Host,
                    Port = target.Port,
                    User = target.User,
                    KeyFile = target.KeyFile,
                    HostKeyFingerprint = shell.HostKeyFingerprint,
                };
            }
            catch
            {
                shell.Dispose();
                throw;
            }
        }

        private static string StateDirectoryFor(HostCapabilities caps, string? requested)
        {
            if (!string.IsNullOrEmpty(requested)) return requested!.TrimEnd('/');
            return (caps.HomeDirectory ?? "/tmp").TrimEnd('/') + "/.openbsdbuild";
        }
    }
}
