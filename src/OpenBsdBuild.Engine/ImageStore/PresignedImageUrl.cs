using System;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.ImageStore
{
    /// <summary>A GET URL a host can fetch an image with, without AWS credentials of its own.</summary>
    public sealed class PresignedImageUrl
    {
        public PresignedImageUrl(S3Location location, Uri url, DateTime expiresAt, bool limitedByCredentials)
        {
            Location = location;
            Url = url;
            ExpiresAt = expiresAt;
            LimitedByCredentials = limitedByCredentials;
        }

        public S3Location Location { get; }
        /// <summary>Carries a signature: treat it as a secret (don't log it, don't put it in tags).</summary>
        public Uri Url { get; }
        /// <summary>When the URL stops working, UTC.</summary>
        public DateTime ExpiresAt { get; }
        /// <summary>
        /// The signing credentials are temporary and expire before the requested time, so the URL
        /// dies with them at <see cref="ExpiresAt"/>; worth a warning when the host needs it later.
        /// </summary>
        public bool LimitedByCredentials { get; }

        public override string ToString() => $"{Location} until {ExpiresAt:u}";
    }

    /// <summary>How long a presigned image URL lives.</summary>
    public static class PresignExpiry
    {
        /// <summary>SigV4's limit for presigned URLs.</summary>
        public static readonly TimeSpan Maximum = TimeSpan.FromDays(7);

        /// <summary>Enough to fetch a 1 GB image over a slow link and retry once.</summary>
        public static readonly TimeSpan DefaultMinimum = TimeSpan.FromMinutes(15);

        /// <summary>
        /// The URL should die with the host that uses it, so it expires when the host does, but never
        /// later than SigV4 allows (7 days) and never so soon that the host cannot finish the download
        /// (<paramref name="minimum"/>; this one bound wins over the host's expiry, because a URL that
        /// dies mid-download is useless). A host with no end (DateTime.MaxValue) gets 7 days.
        /// </summary>
        /// <param name="hostExpiresAt">UTC, or local time marked as such; Unspecified is read as UTC.</param>
        public static DateTime Compute(DateTime nowUtc, DateTime hostExpiresAt, TimeSpan? minimum = null)
        {
            var floor = minimum ?? DefaultMinimum;
            if (floor <= TimeSpan.Zero || floor > Maximum)
                throw new ArgumentOutOfRangeException(nameof(minimum), floor, "The minimum validity must be between zero and 7 days.");
            nowUtc = DateTime.SpecifyKind(nowUtc, DateTimeKind.Utc);
            var host = hostExpiresAt.Kind == DateTimeKind.Local ? hostExpiresAt.ToUniversalTime() : DateTime.SpecifyKind(hostExpiresAt, DateTimeKind.Utc);

            var latest = nowUtc + Maximum;
            var earliest = nowUtc + floor;
            if (host >= latest) return latest;
            if (host <= earliest) return earliest;
            return host;
        }
    }
}
