using System.Management.Automation;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Rents an EC2 bare-metal Linux host that can run OpenBSD guests under KVM, ready when it returns.</summary>
    [Cmdlet(VerbsCommon.New, "MetalHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(MetalHost))]
    public sealed class NewMetalHostCommand : Ec2LaunchCmdlet
    {
        /// <summary>One or more types; the first with capacity is used.</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(MetalTypeCompleter))]
        public string[] InstanceType { get; set; } = new string[0];

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

        /// <summary>A golden image in S3 (s3://bucket/key or an image object) that the host fetches as soon as it boots.</summary>
        [Parameter]
        [ValidateNotNull]
        [ArgumentCompleter(typeof(ImageCompleter))]
        [ImageReferenceTransformation]
        public ImageReference? Image { get; set; }

        /// <summary>When the pipeline fails or is stopped, keep the host (and say how to remove it) instead of terminating it.</summary>
        [Parameter]
        public SwitchParameter KeepOnFailure { get; set; }

        protected override bool KeepOnFailureWanted => KeepOnFailure;

        protected override void ProcessRecord()
        {
            var request = NewLaunchRequest(InstanceType, Image);
            SetLogin(request, KeyName, KeyFile, Name, TrustHostKey);
            var aws = AwsOptions();
            var plan = PlanOrStop(aws, request);
            if (!ShouldProcess(DescribeLaunch(plan), "Launch EC2 metal host")) return;
            LaunchAndHold((r, ct) => Cloud.Ec2.Ec2HostLauncher.LaunchAsync(aws, request, r, ct, plan), host => host);
        }
    }
}
