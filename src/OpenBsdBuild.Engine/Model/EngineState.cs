using System;
using System.Linq;

namespace OpenBsdBuild.Model
{
    /// <summary>
    /// The engine's typed view of what the model objects carry for it. The model assembly loads in PowerShell's
    /// default context and may not name engine or SDK types, so it holds them as plain objects; these members
    /// type them again, so engine code reads host.Shell and image.Metadata as before.
    /// </summary>
    /// <remarks>
    /// Only what the model layer itself defines is typed here; each layer types the handles it owns
    /// (a host's shell in Remote/HostShells.cs, its EC2 resources in Cloud/Ec2/Ec2HostContext.cs), so Model stays a leaf.
    /// S3Location is null for local images, but declared non-null: the compiler does not carry a null check on an
    /// extension property to the next line, and every caller checks first.
    /// </remarks>
    internal static class EngineState
    {
        extension(OpenBsdImage image)
        {
            /// <summary>Everything the sidecar says.</summary>
            internal ImageMetadata Metadata => ((StoredImage)image.StoredState).Metadata;

            /// <summary>The S3 object, or null for a local file.</summary>
            internal S3Location S3Location => ((StoredImage)image.StoredState).S3Location!;
        }

        /// <summary>The pipeline object for an image found in a catalog (region and endpoint: where an S3 image was found).</summary>
        internal static OpenBsdImage ToImage(this StoredImage stored, string? region = null, Uri? endpointUrl = null)
        {
            ImageMetadata m = stored.Metadata;
            return new OpenBsdImage(stored, stored.Location, stored.MetadataLocation)
            {
                Name = string.IsNullOrEmpty(m.Name) ? System.IO.Path.GetFileName(stored.Location) : m.Name,
                OperatingSystem = m.OperatingSystem,
                Version = m.Version,
                Architecture = m.Architecture,
                Size = m.Size > 0 ? m.Size : stored.StoredSize,
                DiskSize = m.DiskSize,
                Sha256 = m.Sha256,
                Created = m.Created,
                BuildUser = m.BuildUser,
                HostKeyFingerprints = m.HostKeyFingerprints.ToList(),
                Sets = m.Sets.ToList(),
                KernelSha256 = m.KernelSha256 ?? "",
                Target = string.IsNullOrEmpty(m.Target) ? ImageTargets.Qemu : m.Target,
                Packages = m.Packages.Select(p => string.IsNullOrEmpty(p.Version) ? p.Name : p.Name + "-" + p.Version).ToList(),
                Region = stored.S3Location == null ? null : region,
                EndpointUrl = stored.S3Location == null ? null : endpointUrl,
                StoredSize = stored.StoredSize,
                LastModified = stored.LastModified,
            };
        }
    }
}
