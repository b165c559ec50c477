using System;
using System.Collections.Generic;

namespace OpenBsdBuild.Builds
{
    /// <summary>What to build and what to bring back.</summary>
    public sealed class BuildSpec
    {
        public string Command { get; set; } = "";
        /// <summary>A local directory to send (as one tar.gz stream).</summary>
        public string? SourcePath { get; set; }
        public bool IncludeIgnored { get; set; }
        /// <summary>A tar.gz the user already made, sent as is.</summary>
        public string? ArchivePath { get; set; }
        /// <summary>A repository the guest clones itself (needs git in the image).</summary>
        public string? GitUrl { get; set; }
        public string? GitRef { get; set; }
        /// <summary>Guest user to build as; null uses the guest's session user (the image's build user).</summary>
        public string? User { get; set; }
        /// <summary>Free space the working directory must have before anything is sent.</summary>
        public long MinFreeSpace { get; set; } = 4L << 30;
        public IReadOnlyList<string> Exclude { get; set; } = Array.Empty<string>();
        /// <summary>Where the sources land in the guest; null picks a fresh directory under /usr/obj.</summary>
        public string? WorkingDirectory { get; set; }
        public IDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>();
        /// <summary>Passed to the build as environment variables through stdin, never on a command line; masked in all output.</summary>
        public IDictionary<string, string> Secrets { get; set; } = new Dictionary<string, string>();
        public IReadOnlyList<string> Artifacts { get; set; } = Array.Empty<string>();
        /// <summary>Local folder the artifacts are written to.</summary>
        public string Destination { get; set; } = "";
        public string? LogPath { get; set; }
        public TimeSpan? Timeout { get; set; }
    }
}
