using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// The parameters of an EC2 metal launch, shared by New-MetalHost and Invoke-OpenBsdBuild, and
    /// their checks: local ones here, the ones that need AWS (read-only calls) in the plan.
    /// </summary>
    public abstract class Ec2LaunchCmdlet : Ec2InstanceCmdlet
    {
        [Parameter]
        [ValidateSet("arm64", "amd64")]
        public string Architecture { get; set; } = "arm64";

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ImageId { get; set; }

        /// <summary>
        /// The AMI's login user (ubuntu on Canonical's images). -User always names the login of the machine a cmdlet
        /// builds on; the host's is -HostUser (its old name -SshUser still works).
        /// </summary>
        [Parameter]
        [Alias("SshUser")]
        [ValidateNotNullOrEmpty]
        public string HostUser { get; set; } = "ubuntu";

        /// <summary>Where guest overlays, logs and sockets live on the host (default ~/.openbsdbuild).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? StateDirectory { get; set; }

        /// <summary>An S3-compatible endpoint for -Image (MinIO, Ceph); AWS S3 when omitted.</summary>
        [Parameter]
        public Uri? S3EndpointUrl { get; set; }

        [Parameter] public TimeSpan BootstrapTimeout { get; set; } = TimeSpan.FromMinutes(30);

        /// <summary>The launch request from the bound parameters; cheap local checks fail here, before AWS is asked anything.</summary>
        protected LaunchRequest NewLaunchRequest(string[] instanceTypes, ImageReference? image)
        {
            if (BootstrapTimeout <= TimeSpan.Zero)
                ThrowBadParameter(nameof(BootstrapTimeout), BootstrapTimeout, "must be positive.", "Pass a duration such as (New-TimeSpan -Minutes 20).");
            var request = NewInstanceRequest(instanceTypes, r =>
            {
                r.Architecture = Architecture;
                r.ImageId = ImageId;
                r.SshUser = HostUser;
                r.StateDirectory = StateDirectory;
                r.BootstrapTimeout = BootstrapTimeout;
            });
            if (image != null)
            {
                request.Image = S3ImageOrThrow(image);
                // An image found by Get-OpenBsdImage is fetched from the store it was found in.
                request.S3EndpointUrl = S3EndpointUrl ?? image.Image?.EndpointUrl;
            }
            return request;
        }

        private S3Location S3ImageOrThrow(ImageReference image)
        {
            if (image.Image != null)
            {
                if (!image.IsS3)
                    ThrowBadParameter("Image", image.Text, "is a local image; an EC2 host fetches its image from S3.",
                        "Publish it first: Publish-OpenBsdImage -Image ... -Destination s3://bucket/prefix/ -PassThru.");
                return image.Image.S3Location;
            }
            if (!S3Location.TryParse(image.Text, out var location, out string? problem))
                ThrowBadParameter("Image", image.Text, problem ?? "is not an s3:// location.", "Pass s3://bucket/path/image.qcow2 or an image object from the image cmdlets.");
            return location!;
        }
    }

    /// <summary>
    /// What every EC2 launch of this module takes, metal host or OpenBSD instance: where (subnet, zone),
    /// how long (self-destruct), who may reach SSH, tags, spot, price, and the waits; checked locally here.
    /// </summary>
    public abstract class Ec2InstanceCmdlet : AwsCmdlet
    {
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SubnetId { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? AvailabilityZone { get; set; }

        /// <summary>Root volume in GiB (gp3, encrypted).</summary>
        [Parameter]
        public int RootVolumeSize { get; set; } = 64;

        /// <summary>The host shuts itself down (and so terminates) after this long, even if this session dies.</summary>
        [Parameter]
        public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromHours(2);

        /// <summary>Who may reach SSH; default this machine's public address /32.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? AllowedCidr { get; set; }

        /// <summary>Accept an -AllowedCidr broader than /16 (a warning says how many addresses may reach SSH).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        [Parameter]
        public Hashtable? Tag { get; set; }

        /// <summary>Launch as a spot instance (interruption terminates it).</summary>
        [Parameter]
        public SwitchParameter Spot { get; set; }

        /// <summary>Highest spot price in USD per hour; default up to the on-demand price.</summary>
        [Parameter]
        public decimal? SpotMaxPrice { get; set; }

        /// <summary>With -Spot: launch on demand when no spot capacity or price is found anywhere.</summary>
        [Parameter]
        public SwitchParameter SpotFallbackToOnDemand { get; set; }

        /// <summary>Overrides the built-in on-demand price table (USD per hour).</summary>
        [Parameter]
        public decimal? PricePerHour { get; set; }

        [Parameter] public TimeSpan RunningTimeout { get; set; } = TimeSpan.FromMinutes(30);
        [Parameter] public TimeSpan ConsoleTimeout { get; set; } = TimeSpan.FromMinutes(15);
        [Parameter] public TimeSpan SshTimeout { get; set; } = TimeSpan.FromMinutes(10);

        /// <summary>The launch request from the bound parameters (plus the road's own); cheap local checks fail here, before AWS is asked anything.</summary>
        protected LaunchRequest NewInstanceRequest(string[] instanceTypes, Action<LaunchRequest> road)
        {
            foreach (var (name, value) in new[] { (nameof(RunningTimeout), RunningTimeout), (nameof(ConsoleTimeout), ConsoleTimeout), (nameof(SshTimeout), SshTimeout) })
                if (value <= TimeSpan.Zero)
                    ThrowBadParameter(name, value, "must be positive.", "Pass a duration such as (New-TimeSpan -Minutes 20).");
            var tags = new Dictionary<string, string>();
            if (Tag != null)
                foreach (DictionaryEntry e in Tag)
                    tags[e.Key?.ToString() ?? ""] = e.Value?.ToString() ?? "";
            var request = new LaunchRequest
            {
                InstanceTypes = instanceTypes,
                SubnetId = SubnetId,
                AvailabilityZone = AvailabilityZone,
                RootVolumeSize = RootVolumeSize,
                MaxLifetime = MaxLifetime,
                AllowedCidr = AllowedCidr,
                Tags = tags,
                Spot = Spot,
                SpotMaxPrice = SpotMaxPrice,
                SpotFallbackToOnDemand = SpotFallbackToOnDemand,
                PricePerHour = PricePerHour,
                RunningTimeout = RunningTimeout,
                ConsoleTimeout = ConsoleTimeout,
                SshTimeout = SshTimeout,
                AllowBroadCidr = Force,
            };
            road(request);
            try { LaunchPlan.CheckLocalInputs(request); }
            catch (Errors.OpenBsdBuildException ex) { ThrowEngineError(ex); }
            if (AllowedCidr != null && LaunchPlan.CidrAddressCount(AllowedCidr) > LaunchPlan.BroadCidrAddresses)
                WriteWarning($"-AllowedCidr {AllowedCidr} opens SSH on the host to {LaunchPlan.CidrAddressCount(AllowedCidr):N0} addresses.");
            return request;
        }

        /// <summary>Checks everything with read-only calls, so bad input fails before anything exists (and -WhatIf can say what would happen).</summary>
        protected LaunchPlan PlanLaunch(AwsConnectionOptions aws, LaunchRequest request)
        {
            var plan = RunEngine((r, ct) => Ec2HostLauncher.PlanAsync(aws, request, r, ct));
            request.AllowedCidr = plan.AllowedCidr;
            return plan;
        }

        /// <summary>
        /// -KeyName, -KeyFile, -Name and -TrustHostKey of a cmdlet that makes a machine and returns it (New-MetalHost,
        /// New-OpenBsdInstance; Invoke-OpenBsdBuild's -KeyFile is the guest's).
        /// </summary>
        protected void SetLogin(LaunchRequest request, string? keyName, string? keyFile, string? name, bool trustHostKey)
        {
            request.KeyName = keyName;
            request.KeyFile = keyFile == null ? null : ResolveExistingFile("KeyFile", keyFile);
            request.Name = name;
            request.TrustHostKey = trustHostKey;
        }

        /// <summary>The checked plan; bad input and missing credentials end the command, as in Invoke-OpenBsdBuild: nothing was made.</summary>
        protected LaunchPlan PlanOrStop(AwsConnectionOptions aws, LaunchRequest request)
        {
            try { return PlanLaunch(aws, request); }
            catch (Errors.OpenBsdBuildException ex)
            {
                ThrowEngineError(ex);
                throw;
            }
        }

        /// <summary>
        /// Launches and writes the machine, registered, and held until the pipeline completes: a later stage that throws,
        /// or Ctrl+C, ends it (docs/reliability.md). A failed launch has removed what it made and is this item's error.
        /// </summary>
        protected void LaunchAndHold<T>(Func<Reporting.IOperationReporter, System.Threading.CancellationToken, System.Threading.Tasks.Task<T>> launch, Func<T, MetalHost> hostOf)
        {
            try
            {
                T made = RunEngine(launch);
                HostRegistry.Add(hostOf(made));
                TakeCustody(hostOf(made));
                WriteObject(made);
            }
            catch (Errors.OpenBsdBuildException ex)
            {
                WriteEngineError(ex);
            }
        }

        protected string DescribeLaunch(LaunchPlan plan) =>
            $"{string.Join(" or ", plan.Candidates.Select(c => c.InstanceType).Distinct())} from {plan.ImageId}, SSH from {plan.AllowedCidr}, self-destruct after {MaxLifetime}";
    }
}
