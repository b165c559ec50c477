using System;
using System.Collections.Generic;
using Amazon;
using Amazon.EC2;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using Amazon.SimpleSystemsManagement;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Cloud.Ec2
{
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
                // An endpoint configured outside the call (AWS_ENDPOINT_URL_EC2, a profile's endpoint_url) is still
                // signed for this region, not for the one the SDK would guess from its host name.
                config.AuthenticationRegion = region;
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
            var (credentials, source, region) = AwsCredentialChain.Resolve(options);
            return new Ec2Connection(region, credentials, source, options.EndpointUrl, reporter);
        }

        public void Dispose()
        {
            Ec2.Dispose();
            Launch.Dispose();
            Ssm.Dispose();
        }
    }
}
