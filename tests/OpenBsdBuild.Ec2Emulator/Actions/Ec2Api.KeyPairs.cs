using OpenBsdBuild.Emulation.Model;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation.Actions;

// ImportKeyPair, DeleteKeyPair, DescribeKeyPairs.
internal sealed partial class Ec2Api
{
    private string ImportKeyPair(Ec2Call c)
    {
        var q = c.Query;
        var name = q.Required("KeyName");
        if (name.Length > 255) throw Ec2Error.InvalidParameterValue("Key name exceeds 255 characters");

        // On the wire PublicKeyMaterial is base64 of the key text. The .NET SDK models it as a
        // string and sends it unchanged, so the caller must encode it; say so when it didn't.
        byte[] material;
        try { material = Convert.FromBase64String(q.Required("PublicKeyMaterial")); }
        catch (FormatException)
        {
            throw new Ec2Error("InvalidKey.Format",
                "Key is not in valid OpenSSH public key format (PublicKeyMaterial must be base64 of the public key text)");
        }
        var parsed = KeyMaterial.Parse(material);

        if (_state.KeyPairs.Values.Any(k => k.Region == c.Region.Name && k.Name == name))
            throw new Ec2Error("InvalidKeyPair.Duplicate", $"The keypair '{name}' already exists.");

        var tags = TagSpecifications(q, "key-pair");
        var key = new KeyPairRecord
        {
            Id = "key-0" + _state.NewId("x")[3..],
            Region = c.Region.Name,
            Name = name,
            KeyType = parsed.KeyType,
            Fingerprint = parsed.Fingerprint,
            PublicKey = parsed.OpenSshLine,
            CreateTime = _state.Now,
        };
        if (tags.TryGetValue("key-pair", out var keyTags))
            foreach (var t in keyTags) key.Tags[t.Key] = t.Value;
        _state.KeyPairs[key.Id] = key;

        var x = c.Response();
        x.Leaf("keyFingerprint", key.Fingerprint);
        x.Leaf("keyName", key.Name);
        x.Leaf("keyPairId", key.Id);
        x.TagSet(key.Tags);
        return x.Finish();
    }

    /// <summary>Idempotent: deleting a key that isn't there still succeeds, as on EC2.</summary>
    private string DeleteKeyPair(Ec2Call c)
    {
        var q = c.Query;
        var name = q.Get("KeyName");
        var id = q.Get("KeyPairId");
        if (name is null && id is null) throw Ec2Error.MissingParameter("KeyName");

        var key = _state.KeyPairs.Values.FirstOrDefault(k => k.Region == c.Region.Name && (k.Name == name || k.Id == id));
        if (key is not null) _state.KeyPairs.Remove(key.Id);

        var x = c.Response();
        x.Leaf("return", true);
        x.Leaf("keyPairId", key?.Id);
        return x.Finish();
    }

    private string DescribeKeyPairs(Ec2Call c)
    {
        var q = c.Query;
        var names = q.List("KeyName");
        var ids = q.List("KeyPairId");
        var includePublicKey = q.GetBool("IncludePublicKey") ?? false;
        var filters = Filters.Parse(q, taggable: true, "key-name", "key-pair-id", "fingerprint", "key-type");

        var inRegion = _state.KeyPairs.Values.Where(k => k.Region == c.Region.Name).OrderBy(k => k.CreateTime).ToList();
        foreach (var name in names)
            if (inRegion.All(k => k.Name != name))
                throw new Ec2Error("InvalidKeyPair.NotFound", $"The key pair '{name}' does not exist");
        foreach (var id in ids)
            if (inRegion.All(k => k.Id != id))
                throw new Ec2Error("InvalidKeyPair.NotFound", $"The key pair ID '{id}' does not exist");

        var selected = inRegion
            .Where(k => names.Count == 0 || names.Contains(k.Name))
            .Where(k => ids.Count == 0 || ids.Contains(k.Id))
            .Where(k => filters.Matches(f => f switch
            {
                "key-name" => [k.Name],
                "key-pair-id" => [k.Id],
                "fingerprint" => [k.Fingerprint],
                "key-type" => [k.KeyType],
                _ => [],
            }, k.Tags));

        var x = c.Response();
        x.Items("keySet", selected, k =>
        {
            x.Leaf("keyPairId", k.Id);
            x.Leaf("keyType", k.KeyType);
            x.TagSet(k.Tags);
            x.Leaf("keyName", k.Name);
            x.Leaf("keyFingerprint", k.Fingerprint);
            if (includePublicKey) x.Leaf("publicKey", k.PublicKey);
            x.Leaf("createTime", k.CreateTime);
        });
        return x.Finish();
    }
}
