using System;
using System.Management.Automation;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// The AWS parameters, named (and aliased) as AWS.Tools for PowerShell names them, and resolved as it resolves them:
    /// parameters first, then what Set-AWSCredential and Set-DefaultAWSRegion stored in the session
    /// ($StoredAWSCredentials, $StoredAWSRegion), then the SDK's default chain.
    /// </summary>
    public abstract class AwsCmdlet : OpenBsdBuildCmdlet
    {
        [Parameter]
        [Alias("RegionToCall")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(RegionCompleter))]
        public string? Region { get; set; }

        [Parameter]
        [Alias("StoredCredentials", "AWSProfileName")]
        [ValidateNotNullOrEmpty]
        public string? ProfileName { get; set; }

        /// <summary>A credentials file other than the shared ones (~/.aws/credentials, ~/.aws/config).</summary>
        [Parameter]
        [Alias("AWSProfilesLocation", "ProfilesLocation")]
        [ValidateNotNullOrEmpty]
        public string? ProfileLocation { get; set; }

        [Parameter]
        [Alias("AK")]
        [ValidateNotNullOrEmpty]
        public string? AccessKey { get; set; }

        [Parameter]
        [Alias("SK", "SecretAccessKey")]
        [ValidateNotNullOrEmpty]
        public string? SecretKey { get; set; }

        [Parameter]
        [Alias("ST")]
        [ValidateNotNullOrEmpty]
        public string? SessionToken { get; set; }

        /// <summary>
        /// An AWSCredentials object as AWS.Tools makes them (Get-AWSCredential, New-AWSCredential, Use-STSRole's
        /// .Credentials), or a PSCredential: access key id as the user name, secret key as the password.
        /// </summary>
        [Parameter]
        [AwsCredentialTransformation]
        public object? Credential { get; set; }

        /// <summary>Another EC2 endpoint (a VPC endpoint, or an emulator in tests).</summary>
        [Parameter]
        public Uri? EndpointUrl { get; set; }

        protected bool HasAwsParameters =>
            Region != null || ProfileName != null || ProfileLocation != null || AccessKey != null || SecretKey != null || Credential != null || EndpointUrl != null;

        protected AwsConnectionOptions AwsOptions()
        {
            if (Credential != null && (AccessKey != null || SecretKey != null))
                ThrowBadParameter(nameof(Credential), Credential is PSCredential ps ? ps.UserName : Credential.GetType().Name,
                    "was given together with -AccessKey/-SecretKey.", "Pass one or the other.");
            var options = new AwsConnectionOptions
            {
                Region = Region ?? StoredText("StoredAWSRegion"),
                ProfileName = ProfileName,
                ProfileLocation = ProfileLocation == null ? null : ResolveLocalPath(ProfileLocation),
                AccessKey = AccessKey,
                SecretKey = SecretKey,
                SessionToken = SessionToken,
                EndpointUrl = EndpointUrl,
            };
            // Set-AWSCredential's session credentials count only when this call names none of its own.
            object? credential = Credential
                ?? (AccessKey == null && SecretKey == null && ProfileName == null && ProfileLocation == null ? Stored("StoredAWSCredentials") : null);
            switch (credential)
            {
                case null:
                    break;
                case PSCredential ps:
                    options.AccessKey = ps.UserName;
                    options.SecretKey = ps.GetNetworkCredential().Password;
                    break;
                default:
                    var keys = AwsCredentialTransformationAttribute.Keys(credential);
                    if (keys == null)
                        ThrowBadParameter(nameof(Credential), credential.GetType().FullName, "is neither an AWSCredentials object nor a PSCredential.",
                            "Pass Get-AWSCredential's output, or Get-Credential with the access key id as user name and the secret key as password.");
                    options.AccessKey = keys!.Value.AccessKey;
                    options.SecretKey = keys.Value.SecretKey;
                    options.SessionToken = keys.Value.Token ?? SessionToken;
                    break;
            }
            return options;
        }

        private object? Stored(string variable)
        {
            object? value = SessionState.PSVariable.GetValue(variable);
            return value is PSObject ps ? ps.BaseObject : value;
        }

        private string? StoredText(string variable)
        {
            string? text = Stored(variable)?.ToString();
            return string.IsNullOrWhiteSpace(text) ? null : text;
        }
    }
}
