using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OpenBsdBuild.Model
{
    /// <summary>
    /// The sidecar that travels with a golden image as "&lt;image&gt;.json": what is in it, who may
    /// log in, and the host keys a guest booted from it must present (no trust on first use).
    /// </summary>
    public sealed class ImageMetadata
    {
        public const string SidecarSuffix = ".json";

        [JsonPropertyName("name")] public string Name { get; set; } = "";
        [JsonPropertyName("os")] public string OperatingSystem { get; set; } = "OpenBSD";
        [JsonPropertyName("version")] public string Version { get; set; } = "";
        [JsonPropertyName("architecture")] public string Architecture { get; set; } = "arm64";
        [JsonPropertyName("format")] public string Format { get; set; } = "qcow2";
        [JsonPropertyName("sets")] public List<string> Sets { get; set; } = new List<string>();
        [JsonPropertyName("packages")] public List<PackageVersion> Packages { get; set; } = new List<PackageVersion>();
        /// <summary>The unprivileged user builds run as; empty when the image only has root.</summary>
        [JsonPropertyName("buildUser")] public string BuildUser { get; set; } = "";
        /// <summary>"SHA256:…" fingerprints of the guest's SSH host keys.</summary>
        [JsonPropertyName("hostKeyFingerprints")] public List<string> HostKeyFingerprints { get; set; } = new List<string>();
        [JsonPropertyName("diskSize")] public long DiskSize { get; set; }
        [JsonPropertyName("created")] public DateTime Created { get; set; }
        /// <summary>Size in bytes of the image file itself.</summary>
        [JsonPropertyName("size")] public long Size { get; set; }
        /// <summary>Lower-case hex SHA-256 of the image file.</summary>
        [JsonPropertyName("sha256")] public string Sha256 { get; set; } = "";
        /// <summary>Whether the image skips the boot-time kernel relink (faster boots, no KARL).</summary>
        [JsonPropertyName("relinkDisabled")] public bool RelinkDisabled { get; set; }
        /// <summary>Lower-case hex SHA-256 of the kernel installed as /bsd with -Kernel; null: the release's own kernel.</summary>
        [JsonPropertyName("kernelSha256")] public string? KernelSha256 { get; set; }
        /// <summary>"qemu" (a guest behind a host) or "ec2" (runs the first-boot agent; no host keys of its own: see docs/golden-images.md).</summary>
        [JsonPropertyName("target")] public string Target { get; set; } = ImageTargets.Qemu;

        private static readonly JsonSerializerOptions Options = new JsonSerializerOptions
        {
            WriteIndented = true,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };

        public string ToJson() => JsonSerializer.Serialize(this, Options);

        public static ImageMetadata Parse(string json, string source)
        {
            try
            {
                return JsonSerializer.Deserialize<ImageMetadata>(json, Options)
                       ?? throw new InvalidDataException("empty document");
            }
            catch (Exception ex) when (ex is JsonException || ex is InvalidDataException || ex is NotSupportedException)
            {
                throw new Errors.OpenBsdBuildException("ImageMetadataInvalid", Errors.FailureKind.InvalidData,
                    $"The image metadata '{source}' is not valid: {ex.Message}", source,
                    "Rebuild the image with New-OpenBsdImage, or fix the sidecar JSON.", ex);
            }
        }
    }

    /// <summary>Where an image is meant to boot (New-OpenBsdImage -Target).</summary>
    public static class ImageTargets
    {
        public const string Qemu = "qemu";
        public const string Ec2 = "ec2";
    }

    public sealed class PackageVersion
    {
        [JsonPropertyName("name")] public string Name { get; set; } = "";
        [JsonPropertyName("version")] public string Version { get; set; } = "";
    }
}
