using System;
using System.Management.Automation;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// -Credential takes what AWS.Tools users hold: an AWSCredentials object (from AWS.Tools' own AWSSDK.Core, which is
    /// not the one the engine loads, so it is read through its GetCredentials() rather than by type), a PSCredential,
    /// or a user name to prompt for, as [Credential] does.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    internal sealed class AwsCredentialTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
        {
            object? value = inputData is PSObject ps ? ps.BaseObject : inputData;
            switch (value)
            {
                case null:
                case PSCredential _:
                    return value;
                case string _:
                    return new CredentialAttribute().Transform(engineIntrinsics, value);
                default:
                    if (Keys(value) != null) return value;
                    throw new ArgumentTransformationMetadataException(
                        $"-Credential takes an AWSCredentials object (Get-AWSCredential) or a PSCredential, not a {value.GetType().FullName}.");
            }
        }

        /// <summary>The keys an AWSCredentials-like object resolves to now, or null when it is not one.</summary>
        internal static (string AccessKey, string SecretKey, string? Token)? Keys(object value)
        {
            var getCredentials = value.GetType().GetMethod("GetCredentials", Type.EmptyTypes);
            if (getCredentials == null) return null;
            object? immutable = getCredentials.Invoke(value, null);
            string? Read(string name) => immutable?.GetType().GetProperty(name)?.GetValue(immutable) as string;
            string? accessKey = Read("AccessKey"), secretKey = Read("SecretKey"), token = Read("Token");
            if (string.IsNullOrEmpty(accessKey) || string.IsNullOrEmpty(secretKey)) return null;
            return (accessKey!, secretKey!, string.IsNullOrEmpty(token) ? null : token);
        }
    }
}
