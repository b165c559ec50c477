using System;
using System.Text;
using System.Text.RegularExpressions;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Model
{
    /// <summary>
    /// An object or a folder in S3, written <c>s3://bucket/prefix/key</c>. A key that is empty or
    /// ends with '/' names a folder. Immutable; compares by bucket and key.
    /// </summary>
    public sealed class S3Location : IEquatable<S3Location>
    {
        private const string Scheme = "s3://";
        private const string Example = "s3://my-images/golden/openbsd-7.9-arm64.qcow2";

        // The rules S3 enforces for new buckets; checking here turns a confusing SDK error
        // (or a request to the wrong host) into a message that names the bad part.
        private static readonly Regex BucketPattern = new Regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", RegexOptions.CultureInvariant);
        private static readonly Regex IpAddressPattern = new Regex(@"^\d+\.\d+\.\d+\.\d+$", RegexOptions.CultureInvariant);

        /// <summary>
        /// The one rule for "is this text meant as an S3 location": it begins with <c>s3:</c> in any case.
        /// "s3:/typo" counts too, so <see cref="Parse"/> refuses it as a malformed URI instead of anyone taking
        /// it for a path on a drive named s3.
        /// </summary>
        public static bool IsS3Uri(string? text) => text != null && text.TrimStart().StartsWith("s3:", StringComparison.OrdinalIgnoreCase);

        public S3Location(string bucket, string key)
        {
            string? problem = BucketProblem(bucket) ?? KeyProblem(key ?? "");
            if (problem != null) throw new ArgumentException(problem);
            Bucket = bucket;
            Key = key ?? "";
        }

        public string Bucket { get; }

        /// <summary>The object key, without a leading '/'; empty for the whole bucket.</summary>
        public string Key { get; }

        /// <summary>Whether this names a folder (the bucket itself, or a key ending in '/').</summary>
        public bool IsFolder => Key.Length == 0 || Key.EndsWith("/", StringComparison.Ordinal);

        /// <summary>The last segment of the key ("openbsd-7.9-arm64.qcow2"); empty for a folder.</summary>
        public string Name => IsFolder ? "" : Key.Substring(Key.LastIndexOf('/') + 1);

        /// <summary>The key as a folder prefix for listing: "" or "a/b/".</summary>
        public string FolderPrefix => Key.Length == 0 || IsFolder ? Key : Key + "/";

        /// <summary>Treats this location as a folder and names <paramref name="name"/> inside it.</summary>
        public S3Location Append(string name)
        {
            if (string.IsNullOrEmpty(name) || name.StartsWith("/", StringComparison.Ordinal))
                throw new ArgumentException($"'{name}' is not a relative object name.", nameof(name));
            return new S3Location(Bucket, FolderPrefix + name);
        }

        /// <summary>This key with <paramref name="suffix"/> appended ("x.qcow2" → "x.qcow2.json").</summary>
        public S3Location WithSuffix(string suffix)
        {
            if (IsFolder) throw new InvalidOperationException($"{this} is a folder, not an object.");
            return new S3Location(Bucket, Key + suffix);
        }

        /// <summary>
        /// Parses <c>s3://bucket[/key]</c>. Failures are <see cref="OpenBsdBuildException"/>s of kind
        /// InvalidArgument that name the parameter, the bad value and how to write it.
        /// </summary>
        public static S3Location Parse(string? value, string parameterName = "Location")
        {
            if (TryParse(value, out var location, out var problem)) return location!;
            throw OpenBsdBuildException.BadParameter(parameterName, value, problem!,
                $"Write it as s3://bucket/prefix/key, for example {Example}.");
        }

        public static bool TryParse(string? value, out S3Location? location, out string? problem)
        {
            location = null;
            problem = null;
            if (string.IsNullOrWhiteSpace(value))
            {
                problem = "an S3 location is required.";
                return false;
            }
            string text = value!.Trim();
            if (!text.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
            {
                problem = text.IndexOf("://", StringComparison.Ordinal) > 0
                    ? $"'{text.Substring(0, text.IndexOf("://", StringComparison.Ordinal))}' is not S3; the location must start with s3://."
                    : "the location must start with s3://.";
                return false;
            }
            string rest = text.Substring(Scheme.Length);
            int slash = rest.IndexOf('/');
            string bucket = slash < 0 ? rest : rest.Substring(0, slash);
            string key = slash < 0 ? "" : rest.Substring(slash + 1);
            problem = BucketProblem(bucket) ?? KeyProblem(key);
            if (problem != null) return false;
            location = new S3Location(bucket, key);
            return true;
        }

        private static string? BucketProblem(string? bucket)
        {
            if (string.IsNullOrEmpty(bucket)) return "the bucket name is missing.";
            if (!BucketPattern.IsMatch(bucket) || bucket!.Contains("..") || IpAddressPattern.IsMatch(bucket))
                return $"'{bucket}' is not a valid bucket name: 3-63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit.";
            return null;
        }

        private static string? KeyProblem(string key)
        {
            if (key.StartsWith("/", StringComparison.Ordinal))
                return $"the key '{key}' starts with '/'; there must be exactly one '/' between the bucket and the key.";
            if (Encoding.UTF8.GetByteCount(key) > 1024)
                return "the key is longer than S3's limit of 1024 bytes.";
            foreach (char c in key)
                if (char.IsControl(c)) return "the key contains a control character.";
            return null;
        }

        public override string ToString() => Scheme + Bucket + "/" + Key;

        public bool Equals(S3Location? other) =>
            other != null && string.Equals(Bucket, other.Bucket, StringComparison.Ordinal) && string.Equals(Key, other.Key, StringComparison.Ordinal);

        public override bool Equals(object? obj) => Equals(obj as S3Location);

        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Bucket) * 31 + StringComparer.Ordinal.GetHashCode(Key);
    }
}
