namespace OpenBsdBuild.Emulation.Imds;

/// <summary>What one instance's metadata service answers (the paths the OpenBsdBuild agent reads), and its metadata options.</summary>
public sealed class ImdsInstance
{
    public string InstanceId { get; set; } = "i-0123456789abcdef0";
    /// <summary>meta-data/local-hostname, e.g. ip-10-0-1-23.eu-west-1.compute.internal.</summary>
    public string LocalHostname { get; set; } = "ip-10-0-1-23.eu-west-1.compute.internal";
    /// <summary>meta-data/hostname (the same as local-hostname on a VPC instance without a public DNS name).</summary>
    public string? Hostname { get; set; }
    /// <summary>The key pair's name and its OpenSSH public key line (meta-data/public-keys/0=NAME, 0/openssh-key); null: launched without one.</summary>
    public (string Name, string OpenSshKey)? PublicKey { get; set; }
    /// <summary>latest/user-data as given at launch; null: none (404).</summary>
    public byte[]? UserData { get; set; }
    /// <summary>HttpTokens: "required" (IMDSv2 only: a GET without a valid token gets 401) or "optional".</summary>
    public string HttpTokens { get; set; } = "required";
    /// <summary>HttpPutResponseHopLimit: the IP TTL of the responses to the token PUT (1 to 64; default 1).</summary>
    public int HttpPutResponseHopLimit { get; set; } = 1;
    /// <summary>HttpEndpoint "disabled": every request gets 403.</summary>
    public bool HttpEndpointEnabled { get; set; } = true;
}
