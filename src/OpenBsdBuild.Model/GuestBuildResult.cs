using System;
using System.Collections.Generic;

namespace OpenBsdBuild.Model
{
    /// <summary>One finished build in a guest: what ran, how it ended, and the verified artifacts.</summary>
    public sealed class GuestBuildResult
    {
        public OpenBsdGuest Guest { get; internal set; } = null!;
        public string GuestName => Guest.Name;
        public MetalHost Host => Guest.Host;
        public string Command { get; internal set; } = "";
        public string WorkingDirectory { get; internal set; } = "";
        public int? ExitCode { get; internal set; }
        public bool Succeeded { get; internal set; }
        public DateTime StartedAt { get; internal set; }
        public TimeSpan Duration { get; internal set; }
        public string? LogPath { get; internal set; }
        /// <summary>Why it failed, in plain words, boring causes first (full disk, memory limit, ...).</summary>
        public string? Diagnosis { get; internal set; }
        public IReadOnlyList<string> LastLines { get; internal set; } = Array.Empty<string>();
        public IReadOnlyList<BuildArtifact> Artifacts { get; internal set; } = Array.Empty<BuildArtifact>();

        /// <summary>
        /// The result of a build that never ran its command (refused by the preflight, guest not
        /// connected, upload failed): it still carries the guest and host downstream, so a
        /// Remove-MetalHost at the end of the pipeline ends them.
        /// </summary>
        internal static GuestBuildResult NotRun(OpenBsdGuest guest, string command, string diagnosis) =>
            new GuestBuildResult { Guest = guest, Command = command, StartedAt = DateTime.UtcNow, Diagnosis = diagnosis };
    }

    /// <summary>A file fetched from a guest whose SHA-256 matched on both ends. Shaped like a FileInfo for piping.</summary>
    public sealed class BuildArtifact
    {
        public BuildArtifact(string name, string fullName, long length, string sha256, string remotePath, string guestName)
        {
            Name = name;
            FullName = fullName;
            Length = length;
            Sha256 = sha256;
            RemotePath = remotePath;
            GuestName = guestName;
        }

        /// <summary>Path relative to the destination folder.</summary>
        public string Name { get; }
        public string FullName { get; }
        /// <summary>Same as FullName, so Get-Item/Copy-Item bind to it by property name.</summary>
        public string Path => FullName;
        public long Length { get; }
        /// <summary>Lower-case hex.</summary>
        public string Sha256 { get; }
        public string RemotePath { get; }
        public string GuestName { get; }

        public override string ToString() => FullName;
    }
}
