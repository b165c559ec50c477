using System;
using System.Management.Automation;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Hosts;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Commands
{
    /// <summary>Attaches a machine that can run guests: this one, or an existing Linux box over SSH.</summary>
    [Cmdlet(VerbsCommunications.Connect, "MetalHost", DefaultParameterSetName = SshSet)]
    [OutputType(typeof(MetalHost))]
    public sealed class ConnectMetalHostCommand : OpenBsdBuildCmdlet
    {
        private const string SshSet = "Ssh";
        private const string LocalSet = "Local";

        [Parameter(Mandatory = true, ParameterSetName = LocalSet)]
        public SwitchParameter Local { get; set; }

        [Parameter(Mandatory = true, Position = 0, ParameterSetName = SshSet, ValueFromPipelineByPropertyName = true)]
        [Alias("ComputerName", "PublicIpAddress")]
        [ValidateNotNullOrEmpty]
        public string HostName { get; set; } = "";

        [Parameter(ParameterSetName = SshSet)]
        [Alias("UserName", "HostUser")]
        [ValidateNotNullOrEmpty]
        public string User { get; set; } = Environment.UserName;

        [Parameter(Mandatory = true, ParameterSetName = SshSet)]
        [Alias("IdentityFile")]
        [ValidateNotNullOrEmpty]
        public string KeyFile { get; set; } = "";

        [Parameter(ParameterSetName = SshSet)]
        [ValidateRange(1, 65535)]
        public int Port { get; set; } = 22;

        /// <summary>Expected SSH host key fingerprint(s), as ssh-keygen -lf prints them (SHA256:...).</summary>
        [Parameter(ParameterSetName = SshSet)]
        [ValidateNotNullOrEmpty]
        public string[] HostKeyFingerprint { get; set; } = new string[0];

        /// <summary>Accept whatever host key the server presents. An explicit opt-out of verification.</summary>
        [Parameter(ParameterSetName = SshSet)]
        public SwitchParameter TrustHostKey { get; set; }

        /// <summary>How long to wait for the SSH connection, like every other wait in the module a TimeSpan.</summary>
        [Parameter(ParameterSetName = SshSet)]
        public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(20);

        /// <summary>The same in seconds, for scripts written before -ConnectTimeout; hidden from completion.</summary>
        [Parameter(ParameterSetName = SshSet, DontShow = true)]
        [ValidateRange(1, 600)]
        public int ConnectTimeoutSeconds { get; set; }

        /// <summary>Where guest overlays, logs and sockets live on the host (default ~/.openbsdbuild).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? StateDirectory { get; set; }

        protected override bool HoldsAttachedHosts => true;

        protected override void ProcessRecord()
        {
            try
            {
                MetalHost host = Local ? RunEngine((r, ct) => HostConnector.ConnectLocalAsync(StateDirectory, r, ct)) : ConnectSsh();
                HostRegistry.Add(host);
                // Held like a made host, but only let go of: a pipeline that ends abnormally, or in which no stage took
                // the host, leaves no connection open that nothing leads to (docs/reliability.md).
                TakeCustody(host);
                WriteObject(host);
            }
            catch (OpenBsdBuildException ex)
            {
                WriteEngineError(ex);
            }
        }

        private MetalHost ConnectSsh()
        {
            ValidateFingerprints(nameof(HostKeyFingerprint), HostKeyFingerprint);
            if (HostKeyFingerprint.Length == 0 && !TrustHostKey)
                ThrowEngineError(new OpenBsdBuildException("HostKeyRequired", FailureKind.SecurityError,
                    $"No host key fingerprint was given for {HostName}, and keys are never trusted on first use.", HostName,
                    "Pass -HostKeyFingerprint SHA256:... (on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), or -TrustHostKey to accept any key explicitly."));
            string keyFile = ResolveExistingFile(nameof(KeyFile), KeyFile);
            var policy = TrustHostKey && HostKeyFingerprint.Length == 0 ? HostKeyPolicy.TrustAnyKey() : HostKeyPolicy.Pinned(HostKeyFingerprint);
            TimeSpan timeout = MyInvocation.BoundParameters.ContainsKey(nameof(ConnectTimeoutSeconds)) ? TimeSpan.FromSeconds(ConnectTimeoutSeconds) : ConnectTimeout;
            if (timeout < TimeSpan.FromSeconds(1) || timeout > TimeSpan.FromMinutes(10))
                ThrowBadParameter(nameof(ConnectTimeout), timeout, "must be between 1 second and 10 minutes.", "Pass e.g. -ConnectTimeout 00:00:30.");
            var target = new SshTarget(HostName, Port, User, keyFile, policy) { ConnectTimeout = timeout, FarEnd = SshFarEnd.LinuxHost };
            return RunEngine((r, ct) => HostConnector.ConnectSshAsync(target, StateDirectory, r, ct));
        }
    }
}
