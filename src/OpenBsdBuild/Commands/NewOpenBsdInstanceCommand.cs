using System.Management.Automation;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Flow;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>
    /// Launches an OpenBSD AMI (ena(4) kernel, first-boot agent) on a Graviton2 instance that is itself the
    /// build machine, with New-MetalHost's guarantees; returns it when its build user's SSH answers with the
    /// host key its console printed. Pipe it to Invoke-GuestBuild, then Remove-MetalHost.
    /// </summary>
    [Cmdlet(VerbsCommon.New, "OpenBsdInstance", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(OpenBsdInstance))]
    public sealed class NewOpenBsdInstanceCommand : Ec2InstanceCmdlet
    {
        /// <summary>The OpenBSD AMI (Register-OpenBsdAmi makes one; Get-OpenBsdAmi output binds by its ImageId).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [ValidatePattern("^ami-[0-9a-f]{8,17}$")]
        public string ImageId { get; set; } = "";

        /// <summary>One or more types; the first with capacity is used. Default: Graviton2 (c6g, m6g, t4g, r6g .xlarge).</summary>
        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(NativeTypeCompleter))]
        public string[] InstanceType { get; set; } = new string[0];

        /// <summary>Who logs in and builds: default the AMI's build user (its openbsdbuild:build-user tag, else builder).</summary>
        [Parameter]
        [Alias("SshUser")]
        [ValidateNotNullOrEmpty]
        public string? User { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyName { get; set; }

        /// <summary>The private key of -KeyName.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>Skip checking the host key against the fingerprints the instance printed on its console. An explicit opt-out.</summary>
        [Parameter]
        public SwitchParameter TrustHostKey { get; set; }

        /// <summary>When the pipeline fails or is stopped, keep the instance (and say how to remove it) instead of terminating it.</summary>
        [Parameter]
        public SwitchParameter KeepOnFailure { get; set; }

        protected override bool KeepOnFailureWanted => KeepOnFailure;

        protected override void ProcessRecord()
        {
            var request = NewInstanceRequest(InstanceType, r =>
            {
                r.Native = true;
                r.ImageId = ImageId;
                // -Force also means "this type although ena(4) is known not to work there".
                r.AllowUnsupportedInstanceType = Force;
                r.SshUserFromImage = User == null;
                if (User != null) r.SshUser = User;
            });
            SetLogin(request, KeyName, KeyFile, Name, TrustHostKey);
            var aws = AwsOptions();
            var plan = PlanOrStop(aws, request);
            foreach (var c in plan.Candidates)
                if (NativeInstanceTypes.IsGraviton3OrLater(c.InstanceType))
                {
                    WriteWarning($"-Force: launching {c.InstanceType} although ena(4) cannot create its queues on Graviton3 and later; expect no network (the launch then ends at -ConsoleTimeout or -SshTimeout).");
                    break;
                }
            if (!ShouldProcess(DescribeLaunch(plan) + ", build user " + plan.LoginUser, "Launch OpenBSD instance")) return;
            LaunchAndHold((r, ct) => NativeInstanceLauncher.LaunchAsync(aws, request, r, ct, plan), instance => instance.Host);
        }
    }
}
