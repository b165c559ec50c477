using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Reflection;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Flow;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Commands
{
    /// <summary>
    /// The whole flow in one call: a host (a new EC2 metal host, or one piped in), a guest from an
    /// image, the build, verified artifacts, and the teardown of everything it made — after
    /// success, failure, an exception or Ctrl+C.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "OpenBsdBuild", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = MetalSet)]
    [OutputType(typeof(GuestBuildResult))]
    public sealed class InvokeOpenBsdBuildCommand : Ec2LaunchCmdlet, IBuildParameters, IGuestParameters
    {
        private const string MetalSet = "Metal";
        private const string NativeSet = "Native";

        /// <summary>An attached host (Connect-MetalHost, New-MetalHost) to build on; without it a new EC2 metal host is launched.</summary>
        [Parameter(ValueFromPipeline = true, ParameterSetName = MetalSet)]
        [ValidateNotNull]
        public MetalHost? MetalHost { get; set; }

        /// <summary>EC2 instance types for the new host; the first with capacity is used.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(MetalTypeCompleter))]
        public string[] InstanceType { get; set; } = new string[0];

        /// <summary>The guest image: s3://… (a new EC2 host fetches it at boot) or a path on the host.</summary>
        [Parameter(Mandatory = true, ParameterSetName = MetalSet)]
        [ValidateNotNull]
        [ArgumentCompleter(typeof(ImageCompleter))]
        [ImageReferenceTransformation]
        public ImageReference Image { get; set; } = null!;

        [Parameter]
        [ValidatePattern("^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")]
        public string? GuestName { get; set; }

        /// <summary>Guest memory in bytes (e.g. 4GB).</summary>
        [Parameter]
        [ValidateByteSize(256L * 1024 * 1024, 1024L * 1024 * 1024 * 1024)]
        public long Memory { get; set; } = 2L * 1024 * 1024 * 1024;

        [Parameter]
        [ValidateRange(1, 256)]
        public int CpuCount { get; set; } = 2;

        [Parameter]
        public TimeSpan BootTimeout { get; set; } = TimeSpan.FromMinutes(5);

        /// <summary>Guest user to log in and build as; default the image's build user, else root.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? User { get; set; }

        /// <summary>Private key for the guest; default ~/.ssh/id_ed25519.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        /// <summary>The guest's SSH host key fingerprint(s); default those in the image's metadata.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] HostKeyFingerprint { get; set; } = new string[0];

        /// <summary>Accept whatever host key the guest presents. An explicit opt-out.</summary>
        [Parameter]
        public SwitchParameter TrustHostKey { get; set; }

        [Parameter]
        public SwitchParameter EnableMsiX { get; set; }

        [Parameter]
        [ValidateSet("kvm", "hvf", "tcg")]
        public string? Accelerator { get; set; }

        /// <summary>Shell command run with /bin/sh in the working directory.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Command { get; set; } = "";

        [Parameter]
        [Alias("LiteralPath")]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        [Parameter]
        public SwitchParameter IncludeIgnored { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] Exclude { get; set; } = new string[0];

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Archive { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? GitUrl { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Ref { get; set; }

        [Parameter]
        [ValidateRange(0L, long.MaxValue)]
        public long MinFreeSpace { get; set; } = 4L << 30;

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] Artifact { get; set; } = new string[0];

        /// <summary>Local folder for artifacts, the SHA256 file and the log (default ./artifacts).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Destination { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? WorkingDirectory { get; set; }

        [Parameter]
        public Hashtable? Environment { get; set; }

        [Parameter]
        public Hashtable? Secret { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? LogPath { get; set; }

        [Parameter]
        public TimeSpan? Timeout { get; set; }

        /// <summary>The native road: launch the OpenBSD AMI -ImageId (New-OpenBsdInstance) and build on the instance itself, no guest.</summary>
        [Parameter(Mandatory = true, ParameterSetName = NativeSet)]
        public SwitchParameter Native { get; set; }

        /// <summary>What only a guest on a metal host uses: refused with -Native.</summary>
        private static readonly string[] MetalOnlyParameters =
        {
            nameof(GuestName), nameof(Memory), nameof(CpuCount), nameof(BootTimeout), nameof(KeyFile), nameof(HostKeyFingerprint), nameof(EnableMsiX),
            nameof(Accelerator), nameof(Architecture), nameof(HostUser), nameof(StateDirectory), nameof(S3EndpointUrl), nameof(BootstrapTimeout),
        };

        /// <summary>When the build fails, keep host and guest running for debugging (the host's self-destruct stays armed).</summary>
        [Parameter]
        public SwitchParameter KeepHostOnFailure { get; set; }

        /// <summary>The parameters that only make sense for a new EC2 host (the launch and AWS ones).</summary>
        private static readonly string[] LaunchParameters = typeof(Ec2LaunchCmdlet)
            .GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetCustomAttributes(typeof(ParameterAttribute), true).Length > 0)
            .Select(p => p.Name)
            .Concat(new[] { nameof(InstanceType) })
            .ToArray();

        private static object? Shown(object? value) =>
            value is IEnumerable list && !(value is string) ? string.Join(",", list.Cast<object>()) : value;

        protected override void BeginProcessing()
        {
            ParameterBinding.Validate(this, (IBuildParameters)this);
            ParameterBinding.Validate(this, (IGuestParameters)this);
        }

        protected override void ProcessRecord()
        {
            if (Native)
            {
                ProcessNative();
                return;
            }
            bool s3Image = Image.IsS3;
            var request = new OneShotRequest
            {
                Host = MetalHost,
                KeepHostOnFailure = KeepHostOnFailure,
                Guest = ParameterBinding.ToGuestOptions(this, this, s3Image ? "" : Image.Text, MetalHost == null ? Architecture : null),
                Build = NewBuildSpec(),
            };
            string build = $"build '{new SecretMasker(request.Build.Secrets.Values).Mask(Command)}' in a guest from {(s3Image ? "the image in S3" : Image)}";
            try
            {
                if (MetalHost != null)
                {
                    string? misplaced = LaunchParameters.FirstOrDefault(MyInvocation.BoundParameters.ContainsKey);
                    if (misplaced != null)
                        ThrowBadParameter(misplaced, Shown(MyInvocation.BoundParameters[misplaced]), "only applies when a new EC2 host is launched, but a host was given.",
                            $"Leave -{misplaced} out, or leave the host out to launch one.");
                    if (s3Image)
                        ThrowBadParameter(nameof(Image), Image, "an image in S3 is fetched by a new EC2 host at boot, but a host was given.",
                            "Pass the image's path on that host, or leave the host out to launch one that fetches it.");
                    if (HostRemovedError(MetalHost) is OpenBsdBuildException removed) ThrowEngineError(removed);
                    if (!ShouldProcess(MetalHost.Name, $"Start a guest, {build}, then stop the guest")) return;
                }
                else
                {
                    var aws = AwsOptions();
                    request.Aws = aws;
                    request.Launch = NewLaunchRequest(InstanceType, s3Image ? Image : null);
                    request.Plan = PlanLaunch(aws, request.Launch);
                    if (!ShouldProcess(DescribeLaunch(request.Plan), $"Launch EC2 metal host, {build}, then terminate the host")) return;
                }
                var outcome = RunEngine((r, ct) => OneShotBuild.RunAsync(request, r, ct));
                if (outcome.Teardown != null)
                    WriteInformation(new InformationRecord($"Removed {outcome.Teardown}.", MyInvocation.MyCommand.Name));
                WriteObject(outcome.Result);
                if (outcome.TeardownError != null) WriteEngineError(outcome.TeardownError);
            }
            catch (OpenBsdBuildException ex) { ThrowEngineError(ex); } // a failed build's target is its result
        }

        /// <summary>The build runs as the guest's (or instance's) login user, so the spec names none.</summary>
        private BuildSpec NewBuildSpec() => ParameterBinding.ToBuildSpec(this, this, "artifacts", user: null);

        /// <summary>-Native: an OpenBSD instance from -ImageId is the build machine; it is terminated at the end like a launched host.</summary>
        private void ProcessNative()
        {
            string? misplaced = MetalOnlyParameters.FirstOrDefault(MyInvocation.BoundParameters.ContainsKey);
            if (misplaced != null)
                ThrowBadParameter(misplaced, Shown(MyInvocation.BoundParameters[misplaced]), "only applies to a guest on a metal host, not with -Native (the instance is the build machine).",
                    $"Leave -{misplaced} out, or leave -Native out to build in a guest.");
            if (string.IsNullOrEmpty(ImageId))
                ThrowBadParameter(nameof(ImageId), "", "is required with -Native: the OpenBSD AMI to launch.",
                    "Pass -ImageId ami-… (Get-OpenBsdAmi lists them; Register-OpenBsdAmi makes one).");
            var request = new OneShotRequest { Native = true, KeepHostOnFailure = KeepHostOnFailure, Build = NewBuildSpec() };
            try
            {
                var aws = AwsOptions();
                request.Aws = aws;
                request.Launch = NewInstanceRequest(InstanceType, r =>
                {
                    r.Native = true;
                    r.ImageId = ImageId;
                    r.AllowUnsupportedInstanceType = Force;
                    r.SshUserFromImage = User == null;
                    if (User != null) r.SshUser = User;
                    r.TrustHostKey = TrustHostKey;
                });
                request.Plan = PlanLaunch(aws, request.Launch);
                string build = $"build '{new SecretMasker(request.Build.Secrets.Values).Mask(Command)}' on it";
                if (!ShouldProcess(DescribeLaunch(request.Plan), $"Launch OpenBSD instance, {build}, then terminate it")) return;
                var outcome = RunEngine((r, ct) => OneShotBuild.RunAsync(request, r, ct));
                if (outcome.Teardown != null)
                    WriteInformation(new InformationRecord($"Removed {outcome.Teardown}.", MyInvocation.MyCommand.Name));
                WriteObject(outcome.Result);
                if (outcome.TeardownError != null) WriteEngineError(outcome.TeardownError);
            }
            catch (OpenBsdBuildException ex) { ThrowEngineError(ex); }
        }
    }
}
