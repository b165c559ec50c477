using System;
using System.Collections.Generic;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Cloud.Aws
{
    /// <summary>Resolves credentials and region as AWS.Tools does.</summary>
    public static class AwsCredentialChain
    {
        /// <summary>
        /// The credentials, where they came from, and the region: explicit keys, then a named profile, then the SDK's
        /// default chain (environment, shared files incl. SSO, container and instance roles). EC2 and S3 both use it.
        /// </summary>
        public static (AWSCredentials Credentials, string Source, string Region) Resolve(AwsConnectionOptions options)
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
    }
}
