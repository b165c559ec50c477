using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.SimpleSystemsManagement.Model;
using OpenBsdBuild.Cloud.S3;
using OpenBsdBuild.Errors;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>One place to launch: a type in a subnet.</summary>
    public sealed class LaunchCandidate
    {
        public LaunchCandidate(string instanceType, string subnetId, string availabilityZone)
        {
            InstanceType = instanceType;
            SubnetId = subnetId;
            AvailabilityZone = availabilityZone;
        }

        public string InstanceType { get; }
        public string SubnetId { get; }
        public string AvailabilityZone { get; }
        public override string ToString() => $"{InstanceType} in {AvailabilityZone}";
    }

    /// <summary>
    /// A validated launch: every input checked against the region with read-only calls, so bad
    /// input fails before anything is created.
    /// </summary>
    public sealed class LaunchPlan
    {
        /// <summary>Canonical's account, owner of the official Ubuntu AMIs.</summary>
        public const string CanonicalOwnerId = "099720109477";

        /// <summary>Bare-metal types per architecture, cheapest first (docs/host-notes.md).</summary>
        public static readonly IReadOnlyDictionary<string, string[]> MetalTypes = new Dictionary<string, string[]>
        {
            ["arm64"] = new[] { "a1.metal", "c6g.metal", "c7g.metal", "m6g.metal", "m7g.metal", "c8g.metal-24xl" },
            ["amd64"] = new[] { "c5.metal", "m5.metal", "c6i.metal", "m6i.metal" },
        };

        private LaunchPlan(LaunchRequest request) => Request = request;

        public LaunchRequest Request { get; }
        public string ImageId { get; private set; } = "";
        public string ImageSource { get; private set; } = "";
        public string RootDeviceName { get; private set; } = "/dev/sda1";
        public string VpcId { get; private set; } = "";
        public string AllowedCidr { get; private set; } = "";
        public IReadOnlyList<LaunchCandidate> Candidates { get; private set; } = new LaunchCandidate[0];
        /// <summary>The golden image the host fetches (presigned), with the SHA-256 from its metadata.</summary>
        public StoredImage? GoldenImage { get; private set; }
        public Uri? GoldenImageUrl { get; private set; }
        /// <summary>The image's architecture as EC2 names it (arm64, x86_64).</summary>
        public string ImageArchitecture { get; private set; } = "";
        /// <summary>Who logs in over SSH: the AMI's user (ubuntu) on the metal road, the image's build user on the native one.</summary>
        public string LoginUser { get; private set; } = "";

        public static string SsmParameterFor(string architecture) =>
            $"/aws/service/canonical/ubuntu/server/24.04/stable/current/{(architecture == "amd64" ? "amd64" : "arm64")}/hvm/ebs-gp3/ami-id";

        public static async Task<LaunchPlan> CreateAsync(Ec2Connection aws, LaunchRequest request, IOperationReporter reporter, CancellationToken ct)
        {
            var plan = new LaunchPlan(request);
            CheckLocalInputs(request);
            plan.LoginUser = request.SshUser;
            if (request.Native)
            {
                // The AMI decides the architecture: resolve it before the types are checked against it.
                await plan.ResolveNativeImageAsync(aws, ct).ConfigureAwait(false);
                request.Architecture = plan.ImageArchitecture == "x86_64" ? "amd64" : "arm64";
            }
            string arch = request.Architecture;
            string ec2Arch = arch == "amd64" ? "x86_64" : "arm64";
            var types = (request.InstanceTypes.Length > 0 ? request.InstanceTypes
                : request.Native ? NativeInstanceTypes.Defaults(arch)
                : new[] { arch == "amd64" ? "c5.metal" : "a1.metal" }).Distinct().ToList();

            foreach (string t in types) await plan.CheckInstanceTypeAsync(aws, t, arch, ec2Arch, ct).ConfigureAwait(false);
            var offered = await ZonesOfferingAsync(aws, types, ct).ConfigureAwait(false);
            var subnets = await SubnetsAsync(aws, request, ct).ConfigureAwait(false);
            plan.VpcId = subnets[0].VpcId;
            plan.Candidates = CandidatesInOrder(types, subnets, offered);

            if (!request.Native) await plan.ResolveImageAsync(aws, ec2Arch, reporter, ct).ConfigureAwait(false);
            await CheckKeyPairAsync(aws, request, ct).ConfigureAwait(false);
            if (request.Image != null) await plan.PresignGoldenImageAsync(aws, ct).ConfigureAwait(false);

            plan.AllowedCidr = request.AllowedCidr ?? await CallerCidrAsync(ct).ConfigureAwait(false);
            return plan;
        }

        /// <summary>An instance type the road can use: known in the region; for metal, bare metal of the asked architecture.</summary>
        private async Task CheckInstanceTypeAsync(Ec2Connection aws, string type, string arch, string ec2Arch, CancellationToken ct)
        {
            InstanceTypeInfo? info = null;
            try
            {
                var r = await aws.Ec2.DescribeInstanceTypesAsync(new DescribeInstanceTypesRequest { InstanceTypes = new List<string> { type } }, ct).ConfigureAwait(false);
                info = r.InstanceTypes?.FirstOrDefault();
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidInstanceType" || ex.ErrorCode == "InvalidParameterValue")
            {
                info = null;
            }
            if (info == null)
                throw OpenBsdBuildException.BadParameter("InstanceType", type, "is not an EC2 instance type in " + aws.Region + ".",
                    Request.Native ? "Use a Graviton2 type such as " + string.Join(", ", NativeInstanceTypes.Defaults(arch)) + "."
                        : "Use a bare-metal type such as " + string.Join(", ", MetalTypes[arch]) + ".");
            if (Request.Native)
            {
                NativeInstanceTypes.Check(type, info, ImageId, ec2Arch, Request.AllowUnsupportedInstanceType);
                return;
            }
            if (info.BareMetal != true)
                throw OpenBsdBuildException.BadParameter("InstanceType", type, "is not a bare-metal type: KVM is only exposed on .metal instances, and OpenBSD needs it to run as a guest.",
                    "Use a .metal type such as " + string.Join(", ", MetalTypes[arch]) + ".");
            var archs = info.ProcessorInfo?.SupportedArchitectures ?? new List<string>();
            if (!archs.Contains(ec2Arch))
                throw OpenBsdBuildException.BadParameter("InstanceType", type, $"is {string.Join("/", archs)}, not {arch}.",
                    $"Pick a {arch} type ({string.Join(", ", MetalTypes[arch])}) or change -Architecture.");
        }

        /// <summary>The zones each type is offered in; a type offered nowhere in the region is refused.</summary>
        private static async Task<Dictionary<string, HashSet<string>>> ZonesOfferingAsync(Ec2Connection aws, List<string> types, CancellationToken ct)
        {
            var offered = new Dictionary<string, HashSet<string>>();
            var offerings = await aws.Ec2.DescribeInstanceTypeOfferingsAsync(new DescribeInstanceTypeOfferingsRequest
            {
                LocationType = LocationType.AvailabilityZone,
                Filters = new List<Filter> { new Filter("instance-type", types) },
            }, ct).ConfigureAwait(false);
            foreach (var o in offerings.InstanceTypeOfferings ?? new List<InstanceTypeOffering>())
            {
                if (!offered.TryGetValue(o.InstanceType, out var zones)) offered[o.InstanceType] = zones = new HashSet<string>();
                zones.Add(o.Location);
            }
            foreach (string t in types)
                if (!offered.ContainsKey(t))
                    throw OpenBsdBuildException.BadParameter("InstanceType", t, $"is not offered in {aws.Region}.",
                        "Pick another region with -Region, or another type.");
            return offered;
        }

        /// <summary>Where the host may go: the subnet given, or the default VPC's subnets (one per zone, -AvailabilityZone's alone if given).</summary>
        private static async Task<List<Subnet>> SubnetsAsync(Ec2Connection aws, LaunchRequest request, CancellationToken ct)
        {
            if (!string.IsNullOrEmpty(request.SubnetId)) return new List<Subnet> { await GivenSubnetAsync(aws, request, ct).ConfigureAwait(false) };
            string? vpc = await DefaultVpcAsync(aws, ct).ConfigureAwait(false);
            if (vpc == null)
                throw new OpenBsdBuildException("NoDefaultVpc", FailureKind.ObjectNotFound, $"{aws.Region} has no default VPC.", aws.Region,
                    "Pass -SubnetId with a public subnet.");
            var r = await aws.Ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest
            {
                Filters = new List<Filter> { new Filter("vpc-id", new List<string> { vpc }), new Filter("default-for-az", new List<string> { "true" }) },
            }, ct).ConfigureAwait(false);
            var subnets = (r.Subnets ?? new List<Subnet>()).OrderBy(s => s.AvailabilityZone, StringComparer.Ordinal).ToList();
            if (string.IsNullOrEmpty(request.AvailabilityZone)) return subnets;
            subnets = subnets.Where(s => s.AvailabilityZone == request.AvailabilityZone).ToList();
            if (subnets.Count == 0)
                throw OpenBsdBuildException.BadParameter("AvailabilityZone", request.AvailabilityZone, $"is not a zone of {aws.Region} with a default subnet.",
                    "Omit it (every zone is tried) or name one of the region's zones, e.g. " + aws.Region + "a.");
            return subnets;
        }

        /// <summary>-SubnetId: it exists, SSH from -AllowedCidr can reach a host in it, and it agrees with -AvailabilityZone.</summary>
        private static async Task<Subnet> GivenSubnetAsync(Ec2Connection aws, LaunchRequest request, CancellationToken ct)
        {
            Subnet? s;
            try
            {
                var r = await aws.Ec2.DescribeSubnetsAsync(new DescribeSubnetsRequest { SubnetIds = new List<string> { request.SubnetId! } }, ct).ConfigureAwait(false);
                s = r.Subnets?.FirstOrDefault();
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidSubnetID.NotFound" || ex.ErrorCode == "InvalidSubnetID.Malformed")
            {
                s = null;
            }
            if (s == null)
                throw OpenBsdBuildException.BadParameter("SubnetId", request.SubnetId, $"no such subnet in {aws.Region}.", "List subnets with Get-EC2Subnet (or aws ec2 describe-subnets) and pass one of them.");
            var defaultVpc = await DefaultVpcAsync(aws, ct).ConfigureAwait(false);
            if (s.VpcId != defaultVpc && s.MapPublicIpOnLaunch != true)
                throw OpenBsdBuildException.BadParameter("SubnetId", request.SubnetId,
                    $"is in {s.VpcId}, not the default VPC ({defaultVpc ?? "none"}), and gives no public address: SSH from -AllowedCidr could not reach the host.",
                    "Use a public subnet (MapPublicIpOnLaunch) or a subnet of the default VPC.");
            if (!string.IsNullOrEmpty(request.AvailabilityZone) && request.AvailabilityZone != s.AvailabilityZone)
                throw OpenBsdBuildException.BadParameter("AvailabilityZone", request.AvailabilityZone,
                    $"does not match subnet {s.SubnetId}, which is in {s.AvailabilityZone}.", "Give -SubnetId or -AvailabilityZone, not both, or make them agree.");
            return s;
        }

        /// <summary>Candidates in the order they are tried: the first type in each zone, then the next type.</summary>
        private static List<LaunchCandidate> CandidatesInOrder(List<string> types, List<Subnet> subnets, Dictionary<string, HashSet<string>> offered)
        {
            var candidates = new List<LaunchCandidate>();
            foreach (string t in types)
                foreach (var s in subnets)
                    if (offered[t].Contains(s.AvailabilityZone))
                        candidates.Add(new LaunchCandidate(t, s.SubnetId, s.AvailabilityZone));
            if (candidates.Count == 0)
                throw OpenBsdBuildException.BadParameter("InstanceType", string.Join(",", types),
                    $"is not offered in {string.Join(", ", subnets.Select(s => s.AvailabilityZone))}.",
                    "Omit -SubnetId/-AvailabilityZone so every zone is tried, or pick another type.");
            return candidates;
        }

        /// <summary>-KeyName names a key pair the region has.</summary>
        private static async Task CheckKeyPairAsync(Ec2Connection aws, LaunchRequest request, CancellationToken ct)
        {
            if (string.IsNullOrEmpty(request.KeyName)) return;
            try
            {
                await aws.Ec2.DescribeKeyPairsAsync(new DescribeKeyPairsRequest { KeyNames = new List<string> { request.KeyName! } }, ct).ConfigureAwait(false);
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidKeyPair.NotFound")
            {
                throw OpenBsdBuildException.BadParameter("KeyName", request.KeyName, $"no such key pair in {aws.Region}.",
                    "Omit -KeyName to use an ephemeral key, or import yours with aws ec2 import-key-pair.");
            }
        }

        /// <summary>The checks that need no AWS: run before credentials are resolved, so a typo never reads as NoCredentials.</summary>
        public static void CheckLocalInputs(LaunchRequest r)
        {
            if (r.Architecture != "arm64" && r.Architecture != "amd64")
                throw OpenBsdBuildException.BadParameter("Architecture", r.Architecture, "is not arm64 or amd64.", "Use -Architecture arm64 or amd64.");
            if (r.MaxLifetime < LaunchRequest.MinLifetime || r.MaxLifetime > LaunchRequest.MaxLifetimeLimit)
                throw OpenBsdBuildException.BadParameter("MaxLifetime", r.MaxLifetime,
                    $"is out of range: a host lives at least {LaunchRequest.MinLifetime.TotalMinutes:0} minutes and at most {LaunchRequest.MaxLifetimeLimit.TotalDays:0} days.",
                    "Pass a value such as (New-TimeSpan -Hours 2).");
            if (r.RootVolumeSize < 8 || r.RootVolumeSize > 16384)
                throw OpenBsdBuildException.BadParameter("RootVolumeSize", r.RootVolumeSize, "is out of range (8-16384 GiB for gp3).", "Pass a size in GiB, e.g. 64.");
            if (r.AllowedCidr != null && !IsValidCidr(r.AllowedCidr))
                throw OpenBsdBuildException.BadParameter("AllowedCidr", r.AllowedCidr, "is not an IPv4 CIDR block.",
                    "Pass an address with a prefix length, e.g. 203.0.113.7/32 (your address) or 203.0.113.0/24.");
            if (r.AllowedCidr != null && r.AllowedCidr.EndsWith("/0", StringComparison.Ordinal))
                throw OpenBsdBuildException.BadParameter("AllowedCidr", r.AllowedCidr, "would open SSH to the whole internet.",
                    "Pass your own address as a /32 (the default) or your network's range.");
            if (r.AllowedCidr != null && CidrAddressCount(r.AllowedCidr) > BroadCidrAddresses && !r.AllowBroadCidr)
                throw OpenBsdBuildException.BadParameter("AllowedCidr", r.AllowedCidr, $"would open SSH to {CidrAddressCount(r.AllowedCidr):N0} addresses.",
                    "Pass your own address as a /32 (the default) or a range of at most /16; add -Force if you really mean this range.");
            if (!string.IsNullOrEmpty(r.KeyName) && string.IsNullOrEmpty(r.KeyFile))
                throw OpenBsdBuildException.BadParameter("KeyFile", "", "is required with -KeyName: the private key is needed to reach the host.",
                    "Pass -KeyFile with the key pair's private key, or omit -KeyName to use an ephemeral key.");
            if (r.SpotMaxPrice.HasValue && !r.Spot)
                throw OpenBsdBuildException.BadParameter("SpotMaxPrice", r.SpotMaxPrice, "only applies with -Spot.", "Add -Spot, or drop -SpotMaxPrice.");
            if (r.SpotFallbackToOnDemand && !r.Spot)
                throw OpenBsdBuildException.BadParameter("SpotFallbackToOnDemand", true, "only applies with -Spot.", "Add -Spot, or drop -SpotFallbackToOnDemand.");
            if (r.SpotMaxPrice.HasValue && r.SpotMaxPrice.Value <= 0)
                throw OpenBsdBuildException.BadParameter("SpotMaxPrice", r.SpotMaxPrice, "must be positive.", "Pass a price in USD per hour, e.g. 0.2.");
            if (r.PricePerHour.HasValue && r.PricePerHour.Value < 0)
                throw OpenBsdBuildException.BadParameter("PricePerHour", r.PricePerHour, "is negative.", "Pass the on-demand price in USD per hour, e.g. 0.408.");
            if (r.ImageSha256 != null && !System.Text.RegularExpressions.Regex.IsMatch(r.ImageSha256, "^[0-9a-fA-F]{64}$"))
                throw OpenBsdBuildException.BadParameter("ImageSha256", r.ImageSha256, "is not a SHA-256 in hex.", "Pass the 64 hex digits sha256sum prints.");
            foreach (var kv in r.Tags)
                if (kv.Key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase) || kv.Key.Length > 128)
                    throw OpenBsdBuildException.BadParameter("Tag", kv.Key, "is not a tag key EC2 accepts (no aws: prefix, at most 128 characters).", "Rename the tag.");
        }

        /// <summary>A /16: anything broader needs -Force.</summary>
        public const long BroadCidrAddresses = 1L << 16;

        /// <summary>How many addresses a valid IPv4 CIDR block covers.</summary>
        public static long CidrAddressCount(string cidr) => 1L << (32 - int.Parse(cidr.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture));

        public static bool IsValidCidr(string cidr)
        {
            string[] parts = cidr.Split('/');
            if (parts.Length != 2 || !int.TryParse(parts[1], out int bits) || bits < 0 || bits > 32) return false;
            string[] octets = parts[0].Split('.');
            return octets.Length == 4 && octets.All(o => o.Length > 0 && o.Length <= 3 && o.All(char.IsDigit) && int.Parse(o) <= 255);
        }

        private static async Task<string?> DefaultVpcAsync(Ec2Connection aws, CancellationToken ct)
        {
            var r = await aws.Ec2.DescribeVpcsAsync(new DescribeVpcsRequest
            {
                Filters = new List<Filter> { new Filter("is-default", new List<string> { "true" }) },
            }, ct).ConfigureAwait(false);
            return r.Vpcs?.FirstOrDefault()?.VpcId;
        }

        private async Task ResolveImageAsync(Ec2Connection aws, string ec2Arch, IOperationReporter reporter, CancellationToken ct)
        {
            string? imageId = Request.ImageId;
            if (string.IsNullOrEmpty(imageId))
            {
                string parameter = SsmParameterFor(Request.Architecture);
                try
                {
                    var p = await aws.Ssm.GetParameterAsync(new GetParameterRequest { Name = parameter }, ct).ConfigureAwait(false);
                    imageId = p.Parameter?.Value;
                    ImageSource = "SSM " + parameter;
                }
                catch (Amazon.SimpleSystemsManagement.AmazonSimpleSystemsManagementException ex)
                {
                    reporter.Verbose($"SSM parameter {parameter} unavailable ({ex.ErrorCode}); looking up Canonical's images instead.");
                }
                if (string.IsNullOrEmpty(imageId))
                {
                    var r = await aws.Ec2.DescribeImagesAsync(new DescribeImagesRequest
                    {
                        Owners = new List<string> { CanonicalOwnerId },
                        Filters = new List<Filter>
                        {
                            new Filter("name", new List<string> { $"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-{(ec2Arch == "x86_64" ? "amd64" : "arm64")}-server-*" }),
                            new Filter("architecture", new List<string> { ec2Arch }),
                            new Filter("state", new List<string> { "available" }),
                        },
                    }, ct).ConfigureAwait(false);
                    var newest = (r.Images ?? new List<Image>()).OrderByDescending(i => i.CreationDate, StringComparer.Ordinal).FirstOrDefault();
                    if (newest == null)
                        throw new OpenBsdBuildException("NoUbuntuImage", FailureKind.ObjectNotFound,
                            $"No Ubuntu 24.04 {ec2Arch} image was found in {aws.Region} (SSM parameter and Canonical's images).", aws.Region,
                            "Pass -ImageId with an Ubuntu 24.04 AMI of the region.");
                    imageId = newest.ImageId;
                    ImageSource = "DescribeImages, owner " + CanonicalOwnerId;
                }
            }
            else
            {
                ImageSource = "-ImageId";
            }

            Image? image = await DescribeImageAsync(aws, imageId!, ct).ConfigureAwait(false);
            if (image == null)
                throw OpenBsdBuildException.BadParameter("ImageId", imageId, $"no such image in {aws.Region}.", "Omit -ImageId to use the latest Ubuntu 24.04, or pass an AMI id of this region.");
            if (image.Architecture?.Value != ec2Arch)
                throw OpenBsdBuildException.BadParameter("ImageId", imageId, $"is a {image.Architecture?.Value} image, not {ec2Arch}.", "Pass an image of the host's architecture.");
            ImageId = image.ImageId;
            RootDeviceName = string.IsNullOrEmpty(image.RootDeviceName) ? "/dev/sda1" : image.RootDeviceName;
        }

        /// <summary>The native road's AMI: given by id (Get-OpenBsdAmi finds them), never looked up.</summary>
        private async Task ResolveNativeImageAsync(Ec2Connection aws, CancellationToken ct)
        {
            string? imageId = Request.ImageId;
            if (string.IsNullOrEmpty(imageId))
                throw OpenBsdBuildException.BadParameter("ImageId", "", "is required: an OpenBSD AMI with an ena(4) kernel.",
                    "Pass -ImageId ami-…, or pipe Get-OpenBsdAmi's output (Register-OpenBsdAmi makes one from a golden image).");
            Image? image = await DescribeImageAsync(aws, imageId!, ct).ConfigureAwait(false);
            if (image == null)
                throw OpenBsdBuildException.BadParameter("ImageId", imageId, $"no such image in {aws.Region}.",
                    "Get-OpenBsdAmi lists the OpenBSD AMIs of a region; Register-OpenBsdAmi makes one from a golden image.");
            ImageId = image.ImageId;
            ImageSource = "-ImageId";
            ImageArchitecture = image.Architecture?.Value ?? "arm64";
            RootDeviceName = string.IsNullOrEmpty(image.RootDeviceName) ? "/dev/sda1" : image.RootDeviceName;
            if (Request.SshUserFromImage)
                LoginUser = Ec2Tags.Get(image.Tags, Ec2Tags.BuildUser) is string user && user.Length > 0 ? user : NativeInstanceTypes.DefaultBuildUser;
        }

        /// <summary>The AMI of that id, or null when EC2 does not know it (InvalidAMIID.* or an empty answer).</summary>
        private static async Task<Image?> DescribeImageAsync(Ec2Connection aws, string imageId, CancellationToken ct)
        {
            try
            {
                var d = await aws.Ec2.DescribeImagesAsync(new DescribeImagesRequest { ImageIds = new List<string> { imageId } }, ct).ConfigureAwait(false);
                return d.Images?.FirstOrDefault();
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode.StartsWith("InvalidAMIID", StringComparison.Ordinal))
            {
                return null;
            }
        }

        private async Task PresignGoldenImageAsync(Ec2Connection aws, CancellationToken ct)
        {
            var location = Request.Image!;
            using var s3 = S3ClientFactory.Create(aws.Region, aws.Credentials, Request.S3EndpointUrl);
            var store = new S3ImageStore(s3);
            StoredImage stored;
            try
            {
                stored = await store.GetAsync(location, ct).ConfigureAwait(false);
            }
            catch (OpenBsdBuildException ex) when (!(ex.ErrorId.StartsWith("InvalidParameter", StringComparison.Ordinal)))
            {
                throw OpenBsdBuildException.BadParameter("Image", location, "is missing or unreadable: " + ex.Message,
                    ex.RecommendedAction ?? "Publish the image first, or check the bucket, key and region.");
            }
            catch (Amazon.S3.AmazonS3Exception ex)
            {
                throw OpenBsdBuildException.BadParameter("Image", location, $"cannot be read ({ex.ErrorCode}: {ex.Message}).",
                    "Check that these credentials may read the bucket, and that it is in the host's region.");
            }
            if (stored.Architecture != Request.Architecture)
                throw OpenBsdBuildException.BadParameter("Image", location, $"is an {stored.Architecture} image, but the host is {Request.Architecture}.",
                    "Pick an image of the host's architecture, or change -Architecture.");
            // The host fetches it right after boot; the URL must outlive neither the host nor the credentials.
            var url = store.Presign(location, DateTime.UtcNow + Request.MaxLifetime, S3ClientFactory.CredentialsExpiration(aws.Credentials));
            GoldenImage = stored;
            GoldenImageUrl = url.Url;
        }

        /// <summary>This machine's public address as AWS sees it, as a /32.</summary>
        private static async Task<string> CallerCidrAsync(CancellationToken ct)
        {
            try
            {
                using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
                string text = (await http.GetStringAsync("https://checkip.amazonaws.com/").ConfigureAwait(false)).Trim();
                if (IPAddress.TryParse(text, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) return text + "/32";
            }
            catch (Exception ex) when (ex is HttpRequestException || ex is TaskCanceledException)
            {
            }
            throw OpenBsdBuildException.BadParameter("AllowedCidr", "(default)", "could not be worked out: checkip.amazonaws.com did not answer with this machine's public address.",
                "Pass -AllowedCidr with the address SSH will come from, e.g. 203.0.113.7/32.");
        }
    }
}
