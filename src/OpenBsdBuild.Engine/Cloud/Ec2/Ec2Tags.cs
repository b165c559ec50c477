using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Amazon.EC2.Model;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>The tags that mark what this module created, so Get-MetalHost and the orphan sweep find it.</summary>
    public static class Ec2Tags
    {
        public const string RunId = "openbsdbuild:run-id";
        public const string Owner = "openbsdbuild:owner";
        public const string Created = "openbsdbuild:created";
        public const string Expires = "openbsdbuild:expires";
        /// <summary>"true" when the key pair was generated for this host (and so is deleted with it).</summary>
        public const string EphemeralKey = "openbsdbuild:ephemeral-key";
        /// <summary>On an instance: "native" when it is an OpenBSD build machine (New-OpenBsdInstance), absent on metal hosts.</summary>
        public const string Road = "openbsdbuild:road";
        /// <summary>On an OpenBSD AMI: the image's build user, who logs in on the native road.</summary>
        public const string BuildUser = "openbsdbuild:build-user";

        public static List<Tag> For(string runId, string owner, DateTime created, DateTime expires, string name,
            IDictionary<string, string>? extra, bool ephemeralKey)
        {
            var tags = new List<Tag>();
            if (extra != null) tags.AddRange(extra.Select(kv => new Tag(kv.Key, kv.Value)));
            tags.RemoveAll(t => t.Key == "Name" || t.Key.StartsWith("openbsdbuild:", StringComparison.Ordinal));
            tags.Add(new Tag("Name", name));
            tags.Add(new Tag(RunId, runId));
            tags.Add(new Tag(Owner, owner));
            tags.Add(new Tag(Created, Format(created)));
            tags.Add(new Tag(Expires, Format(expires)));
            if (ephemeralKey) tags.Add(new Tag(EphemeralKey, "true"));
            return tags;
        }

        public static string Format(DateTime utc) => utc.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

        public static DateTime? ParseTime(string? value) =>
            DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : (DateTime?)null;

        public static string? Get(IEnumerable<Tag>? tags, string key) => tags?.FirstOrDefault(t => t.Key == key)?.Value;
    }
}
