using System;
using System.Collections.Generic;

namespace OpenBsdBuild.Build
{
    /// <summary>What to build and what to bring back.</summary>
    public sealed class BuildSpec
    {
        public string Command { get; set; } = "";
        /// <summary>A local directory to send (as one tar.gz stream).</summary>
        public string? SourcePath { get; set; }
        public bool IncludeIgnored { get; set; }
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
