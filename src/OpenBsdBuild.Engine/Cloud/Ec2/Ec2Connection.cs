using System;
using System.Collections.Generic;
using Amazon;
using Amazon.EC2;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using Amazon.SimpleSystemsManagement;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>How to reach AWS, named as AWS.Tools for PowerShell names it.</summary>
    public sealed class AwsConnectionOptions
    {
        public string? Region { get; set; }
        public string? ProfileName { get; set; }
        public string? ProfileLocation { get; set; }
        public string? AccessKey { get; set; }
        public string? SecretKey { get; set; }
        public string? SessionToken { get; set; }
        public Uri? EndpointUrl { get; set; }
    }

    /// <summary>EC2 and SSM clients for one region, with the credentials they were resolved from.</summary>
    public sealed class Ec2Connection : IDisposable
    {
        private Ec2Connection(string region, AWSCredentials credentials, string credentialSource, Uri? endpoint, IOperationReporter? reporter)
        {
            Region = region;
            Credentials = credentials;
            CredentialSource = credentialSource;
            Endpoint = endpoint;
            Ec2 = new AmazonEC2Client(credentials, Config(new AmazonEC2Config(), region, endpoint));
            // Capacity errors come back as 500s, which the SDK retries by itself; each retry of an
            // InsufficientInstanceCapacity costs seconds and never helps, so RunInstances gets its own client.
            var launchConfig = Config(new AmazonEC2Config(), region, endpoint);
            launchConfig.MaxErrorRetry = 1;
            Launch = new AmazonEC2Client(credentials, launchConfig);
            Ssm = new AmazonSimpleSystemsManagementClient(credentials, Config(new AmazonSimpleSystemsManagementConfig(), region, endpoint));
            foreach (var client in new object[] { Ec2, Launch, Ssm }) AwsRequestTrace.Attach((AmazonServiceClient)client, region, reporter);
        }

        public string Region { get; }
        public AWSCredentials Credentials { get; }
        /// <summary>Where the credentials came from, for -Verbose ("parameters", "profile 'x'", "default chain").</summary>
        public string CredentialSource { get; }
        public Uri? Endpoint { get; }
        public IAmazonEC2 Ec2 { get; }
        /// <summary>An EC2 client that retries once at most: used for RunInstances only.</summary>
        public IAmazonEC2 Launch { get; }
        public IAmazonSimpleSystemsManagement Ssm { get; }

        private static T Config<T>(T config, string region, Uri? endpoint) where T : ClientConfig
        {
            if (endpoint == null)
            {
                config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
            }
            else
            {
                config.ServiceURL = endpoint.GetLeftPart(UriPartial.Authority);
                config.AuthenticationRegion = region;
            }
            config.Timeout = TimeSpan.FromSeconds(30);
            return config;
        }

        /// <summary>
        /// Resolves credentials and region: explicit keys, then a named profile, then the SDK's
        /// default chain (environment, shared files incl. SSO, container and instance roles).
        /// </summary>
        /// <param name="reporter">Gets a verbose line for every request the clients send; null for none.</param>
        public static Ec2Connection Open(AwsConnectionOptions options, IOperationReporter? reporter = null)
        {
            if (options.EndpointUrl != null && (!options.EndpointUrl.IsAbsoluteUri ||
                (options.EndpointUrl.Scheme != Uri.UriSchemeHttp && options.EndpointUrl.Scheme != Uri.UriSchemeHttps)))
                throw OpenBsdBuildException.BadParameter("EndpointUrl", options.EndpointUrl, "is not an http:// or https:// URL.",
                    "Give the service's base URL, for example https://ec2.eu-west-1.amazonaws.com.");
            var (credentials, source, region) = ResolveCredentials(options);
            return new Ec2Connection(region, credentials, source, options.EndpointUrl, reporter);
        }

        /// <summary>The credentials, where they came from, and the region, as <see cref="Open"/> resolves them; shared with the S3 image cmdlets.</summary>
        public static (AWSCredentials Credentials, string Source, string Region) ResolveCredentials(AwsConnectionOptions options)
        {
            var tried = new List<string>();
            AWSCredentials? credentials = null;
            string source = "";
            string? profileRegion = null;

            if (!string.IsNullOrEmpty(options.AccessKey) || !string.IsNullOrEmpty(options.SecretKey))
            {
                if (string.IsNullOrEmpty(options.AccessKey) || string.IsNullOrEmpty(options.SecretKey))
                    throw OpenBsdBuildException.BadParameter(string.IsNullOrEmpty(options.AccessKey) ? "AccessKey" : "SecretKey", "",
                        "is missing: an access key needs its secret key and vice versa.", "Pass both -AccessKey and -SecretKey (and -SessionToken for temporary keys), or -Credential.");
                credentials = string.IsNullOrEmpty(options.SessionToken)
                    ? (AWSCredentials)new BasicAWSCredentials(options.AccessKey, options.SecretKey)
                    : new SessionAWSCredentials(options.AccessKey, options.SecretKey, options.SessionToken);
                source = "-AccessKey/-SecretKey";
            }
            else if (!string.IsNullOrEmpty(options.ProfileName) || !string.IsNullOrEmpty(options.ProfileLocation))
            {
                string name = string.IsNullOrEmpty(options.ProfileName) ? "default" : options.ProfileName!;
                var chain = new CredentialProfileStoreChain(options.ProfileLocation);
                if (!chain.TryGetProfile(name, out CredentialProfile profile) || !chain.TryGetAWSCredentials(name, out credentials))
                    throw OpenBsdBuildException.BadParameter("ProfileName", name,
                        $"no such credential profile{(string.IsNullOrEmpty(options.ProfileLocation) ? " in the shared credentials and config files" : " in " + options.ProfileLocation)}.",
                        "Create it with 'aws configure --profile NAME' (or Set-AWSCredential -StoreAs NAME), or pass -AccessKey/-SecretKey.");
                profileRegion = profile.Region?.SystemName;
                source = $"profile '{name}'";
            }
            else
            {
                tried.Add("-AccessKey/-SecretKey and -Credential (not given)");
                tried.Add("-ProfileName (not given)");
                tried.Add("environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE");
                tried.Add("the shared credentials and config files (profile 'default', SSO included)");
                tried.Add("container and EC2 instance roles");
                try
                {
                    credentials = DefaultAWSCredentialsIdentityResolver.GetCredentials();
                    source = "the AWS SDK default chain";
                }
                catch (Exception ex) when (ex is AmazonClientException || ex is AmazonServiceException || ex is InvalidOperationException)
                {
                    throw new OpenBsdBuildException("NoCredentials", FailureKind.AuthenticationError,
                        "No AWS credentials were found. Tried: " + string.Join("; ", tried) + ".", null,
                        "Pass -ProfileName, -AccessKey/-SecretKey or -Credential, or run 'aws configure' (or 'aws sso login').", ex);
                }
            }

            string? region = !string.IsNullOrEmpty(options.Region) ? options.Region : profileRegion;
            if (string.IsNullOrEmpty(region))
            {
                try { region = FallbackRegionFactory.GetRegionEndpoint()?.SystemName; }
                catch (Exception ex) when (ex is AmazonClientException || ex is InvalidOperationException) { region = null; }
            }
            if (string.IsNullOrEmpty(region))
                throw new OpenBsdBuildException("NoRegion", FailureKind.InvalidArgument,
                    "No AWS region was given. Tried: -Region, the profile's region, AWS_REGION/AWS_DEFAULT_REGION, and the instance's region.", null,
                    "Pass -Region, for example -Region eu-west-1.");
            if (!System.Text.RegularExpressions.Regex.IsMatch(region, "^[a-z]{2}(-[a-z]+)+-[0-9]+$"))
                throw OpenBsdBuildException.BadParameter("Region", region, "is not an AWS region name.", "Use a region code such as eu-west-1 or us-east-1.");
            return (credentials!, source, region!);
        }

        public void Dispose()
        {
            Ec2.Dispose();
            Launch.Dispose();
            Ssm.Dispose();
        }
    }
}
