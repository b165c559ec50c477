using System;
using System.Linq;
using OpenBsdBuild.Cloud;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Images;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Model
{
    /// <summary>
    /// The engine's typed view of what the model objects carry for it. The model assembly loads in PowerShell's
    /// default context and may not name engine or SDK types, so it holds them as plain objects; these members
    /// type them again, so engine code reads host.Shell and image.Metadata as before.
    /// </summary>
    /// <remarks>
    /// Ec2 and S3Location are null for hosts not on EC2 and local images, but declared non-null: the compiler does
    /// not carry a null check on an extension property to the next line, and every caller checks first.
    /// </remarks>
    internal static class EngineState
    {
        extension(MetalHost host)
        {
            internal IHostShell Shell
            {
                get => (IHostShell)host.ShellState;
                set => host.ShellState = value;
            }

            /// <summary>What SSH to a guest on this host jumps through: nothing when the host is this machine.</summary>
            internal IHostShell? JumpShell => host.Shell.IsLocal ? null : host.Shell;

            internal Ec2HostContext Ec2
            {
                get => (Ec2HostContext)host.Ec2State!;
                set => host.Ec2State = value;
            }
        }

        extension(OpenBsdGuest guest)
        {
            internal IHostShell? Shell
            {
                get => (IHostShell?)guest.ShellState;
                set => guest.ShellState = value;
            }

            /// <summary>
            /// Where a new SSH session to the guest goes: its forward on the host's loopback, through the
            /// host; an OpenBSD instance is reached at its own address with no jump.
            /// </summary>
            internal (string Host, int Port, IHostShell? Via) SshEndpoint => guest is OpenBsdInstance instance
                ? (instance.Address, guest.SshPort, null)
                : ("127.0.0.1", guest.SshPort, guest.Host.JumpShell);
        }

        extension(Ec2Leftover leftover)
        {
            /// <summary>The connection that listed it, so it is deleted where it was found.</summary>
            internal AwsConnectionOptions? Connection
            {
                get => (AwsConnectionOptions?)leftover.ConnectionState;
                set => leftover.ConnectionState = value;
            }
        }

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
