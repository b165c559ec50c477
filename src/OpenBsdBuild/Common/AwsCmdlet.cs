using System;
using System.Management.Automation;
using OpenBsdBuild.Cloud.Ec2;

namespace OpenBsdBuild.Common
{
    /// <summary>The AWS parameters, named as AWS.Tools for PowerShell names them.</summary>
    public abstract class AwsCmdlet : OpenBsdBuildCmdlet
    {
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(RegionCompleter))]
        public string? Region { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ProfileName { get; set; }

        /// <summary>A credentials file other than the shared ones (~/.aws/credentials, ~/.aws/config).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ProfileLocation { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? AccessKey { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SecretKey { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SessionToken { get; set; }

        /// <summary>Access key id as the user name, secret key as the password.</summary>
        [Parameter]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>Another EC2 endpoint (a VPC endpoint, or an emulator in tests).</summary>
        [Parameter]
        public Uri? EndpointUrl { get; set; }

        protected bool HasAwsParameters =>
            Region != null || ProfileName != null || ProfileLocation != null || AccessKey != null || SecretKey != null || Credential != null || EndpointUrl != null;

        protected AwsConnectionOptions AwsOptions()
        {
            if (Credential != null && (AccessKey != null || SecretKey != null))
                ThrowBadParameter(nameof(Credential), Credential.UserName, "was given together with -AccessKey/-SecretKey.", "Pass one or the other.");
            return new AwsConnectionOptions
            {
                Region = Region,
                ProfileName = ProfileName,
                ProfileLocation = ProfileLocation == null ? null : ResolveLocalPath(ProfileLocation),
                AccessKey = Credential?.UserName ?? AccessKey,
                SecretKey = Credential?.GetNetworkCredential().Password ?? SecretKey,
                SessionToken = SessionToken,
                EndpointUrl = EndpointUrl,
            };
        }
    }
}
