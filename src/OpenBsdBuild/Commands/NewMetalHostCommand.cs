using System;
using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Rents an EC2 bare-metal Linux host that can run OpenBSD guests under KVM, ready when it returns.</summary>
    [Cmdlet(VerbsCommon.New, "MetalHost", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(MetalHost))]
    public sealed class NewMetalHostCommand : AwsCmdlet
    {
        /// <summary>One or more types; the first with capacity is used.</summary>
        [Parameter(Position = 0)]
        [ValidateNotNullOrEmpty]
        public string[] InstanceType { get; set; } = new string[0];

        [Parameter]
        [ValidateSet("arm64", "amd64")]
        public string Architecture { get; set; } = "arm64";

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ImageId { get; set; }

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

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyName { get; set; }

        /// <summary>The private key of -KeyName.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        /// <summary>The AMI's login user (ubuntu on Canonical's images).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string SshUser { get; set; } = "ubuntu";

        [Parameter]
        public Hashtable? Tag { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Name { get; set; }

        /// <summary>Skip checking the host key against the fingerprints the instance printed on its console. An explicit opt-out.</summary>
        [Parameter]
        public SwitchParameter TrustHostKey { get; set; }

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

        /// <summary>Where guest overlays, logs and sockets live on the host (default ~/.openbsdbuild).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? StateDirectory { get; set; }

        /// <summary>A golden image in S3 (s3://bucket/key or an image object) that the host fetches as soon as it boots.</summary>
        [Parameter]
        [ValidateNotNull]
        public object? Image { get; set; }

        /// <summary>An S3-compatible endpoint for -Image (MinIO, Ceph); AWS S3 when omitted.</summary>
        [Parameter]
        public Uri? S3EndpointUrl { get; set; }

        [Parameter] public TimeSpan RunningTimeout { get; set; } = TimeSpan.FromMinutes(30);
        [Parameter] public TimeSpan ConsoleTimeout { get; set; } = TimeSpan.FromMinutes(15);
        [Parameter] public TimeSpan SshTimeout { get; set; } = TimeSpan.FromMinutes(10);
        [Parameter] public TimeSpan BootstrapTimeout { get; set; } = TimeSpan.FromMinutes(30);

        protected override void ProcessRecord()
        {
            var tags = new Dictionary<string, string>();
            if (Tag != null)
                foreach (DictionaryEntry e in Tag)
                    tags[e.Key?.ToString() ?? ""] = e.Value?.ToString() ?? "";
            foreach (var (name, value) in new[] { (nameof(RunningTimeout), RunningTimeout), (nameof(ConsoleTimeout), ConsoleTimeout), (nameof(SshTimeout), SshTimeout), (nameof(BootstrapTimeout), BootstrapTimeout) })
                if (value <= TimeSpan.Zero)
                    ThrowBadParameter(name, value, "must be positive.", $"Pass a duration such as (New-TimeSpan -Minutes 20).");
            var request = new LaunchRequest
            {
                InstanceTypes = InstanceType,
                Architecture = Architecture,
                ImageId = ImageId,
                SubnetId = SubnetId,
                AvailabilityZone = AvailabilityZone,
                RootVolumeSize = RootVolumeSize,
                MaxLifetime = MaxLifetime,
                AllowedCidr = AllowedCidr,
                KeyName = KeyName,
                KeyFile = KeyFile == null ? null : ResolveExistingFile(nameof(KeyFile), KeyFile),
                SshUser = SshUser,
                Tags = tags,
                Name = Name,
                TrustHostKey = TrustHostKey,
                Spot = Spot,
                SpotMaxPrice = SpotMaxPrice,
                SpotFallbackToOnDemand = SpotFallbackToOnDemand,
                PricePerHour = PricePerHour,
                StateDirectory = StateDirectory,
                RunningTimeout = RunningTimeout,
                ConsoleTimeout = ConsoleTimeout,
                SshTimeout = SshTimeout,
                BootstrapTimeout = BootstrapTimeout,
            };
            if (Image != null)
            {
                object image = Image is PSObject pso ? pso.BaseObject : Image;
                if (image is OpenBsdImage { S3Location: null } local)
                    ThrowBadParameter(nameof(Image), local.Location, "is a local image; an EC2 host fetches its image from S3.",
                        "Publish it first: Publish-OpenBsdImage -Image ... -Destination s3://bucket/prefix/ -PassThru.");
                request.Image = image is OpenBsdImage golden ? golden.S3Location! : S3LocationOrThrow(image.ToString());
                // An image found by Get-OpenBsdImage is fetched from the store it was found in.
                request.S3EndpointUrl = S3EndpointUrl ?? (image as OpenBsdImage)?.EndpointUrl;
            }
            var aws = AwsOptions();
            try
            {
                // Everything is checked with read-only calls first, so bad input fails before anything exists (and -WhatIf can say what would happen).
                var plan = RunEngine((r, ct) => Ec2HostLauncher.PlanAsync(aws, request, r, ct));
                request.AllowedCidr = plan.AllowedCidr;
                string what = $"{string.Join(" or ", new HashSet<string>(System.Linq.Enumerable.Select(plan.Candidates, c => c.InstanceType)))} from {plan.ImageId}, SSH from {plan.AllowedCidr}, self-destruct after {MaxLifetime}";
                if (!ShouldProcess(what, "Launch EC2 metal host")) return;
                MetalHost host = RunEngine((r, ct) => Ec2HostLauncher.LaunchAsync(aws, request, r, ct, plan));
                HostRegistry.Add(host);
                WriteObject(host);
            }
            catch (OpenBsdBuildException ex)
            {
                WriteEngineError(ex);
            }
        }

        private OpenBsdBuild.Cloud.S3Location S3LocationOrThrow(string? text)
        {
            if (!OpenBsdBuild.Cloud.S3Location.TryParse(text, out var location, out string? problem))
                ThrowBadParameter(nameof(Image), text, problem ?? "is not an s3:// location.", "Pass s3://bucket/path/image.qcow2 or an image object from the image cmdlets.");
            return location!;
        }
    }
}
