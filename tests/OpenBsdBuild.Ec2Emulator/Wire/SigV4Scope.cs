namespace OpenBsdBuild.Emulation.Wire;

/// <summary>
/// What a SigV4 <c>Authorization</c> header says about the caller. The signature itself is
/// never checked (there are no real secrets here); the credential scope is what matters,
/// because the region in it is the only way the server learns which region the client meant.
/// </summary>
/// <example>AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=…</example>
public sealed record SigV4Scope(string AccessKeyId, string Date, string Region, string Service, string SignedHeaders)
{
    public static SigV4Scope? Parse(string? authorization)
    {
        if (string.IsNullOrEmpty(authorization) || !authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal))
            return null;

        string? credential = null, signedHeaders = null;
        foreach (var part in authorization["AWS4-HMAC-SHA256 ".Length..].Split(','))
        {
            var kv = part.Trim();
            if (kv.StartsWith("Credential=", StringComparison.Ordinal)) credential = kv["Credential=".Length..];
            else if (kv.StartsWith("SignedHeaders=", StringComparison.Ordinal)) signedHeaders = kv["SignedHeaders=".Length..];
        }

        var scope = credential?.Split('/');
        if (scope is not { Length: 5 } || scope[4] != "aws4_request") return null;
        return new SigV4Scope(scope[0], scope[1], scope[2], scope[3], signedHeaders ?? "");
    }
}
