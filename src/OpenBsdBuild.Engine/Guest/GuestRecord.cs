using System;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OpenBsdBuild.Guest
{
    /// <summary>guest.json in a guest's state directory on the host, so any later session can find and stop it.</summary>
    internal sealed class GuestRecord
    {
        [JsonPropertyName("name")] public string Name { get; set; } = "";
        [JsonPropertyName("image")] public string Image { get; set; } = "";
        [JsonPropertyName("architecture")] public string Architecture { get; set; } = "";
        [JsonPropertyName("accelerator")] public string Accelerator { get; set; } = "";
        [JsonPropertyName("memoryMB")] public int MemoryMB { get; set; }
        [JsonPropertyName("cpuCount")] public int CpuCount { get; set; }
        [JsonPropertyName("pid")] public int? Pid { get; set; }
        [JsonPropertyName("sshPort")] public int SshPort { get; set; }
        [JsonPropertyName("user")] public string User { get; set; } = "";
        [JsonPropertyName("hostKeyFingerprint")] public string? HostKeyFingerprint { get; set; }
        [JsonPropertyName("osVersion")] public string? OsVersion { get; set; }
        [JsonPropertyName("startedAt")] public DateTime StartedAt { get; set; }

        public string ToJson() => JsonSerializer.Serialize(this);
        public static GuestRecord? TryParse(string json)
        {
            try { return JsonSerializer.Deserialize<GuestRecord>(json); }
            catch (JsonException) { return null; }
        }
    }
}
