using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Management.Automation;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Guest;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// The build parameters Invoke-GuestBuild and Invoke-OpenBsdBuild both take. PowerShell binds a
    /// cmdlet's own properties only, so each declares them; checking them and turning them into a
    /// <see cref="BuildSpec"/> happens once, in <see cref="ParameterBinding"/>.
    /// </summary>
    internal interface IBuildParameters
    {
        string Command { get; }
        string? Path { get; }
        SwitchParameter IncludeIgnored { get; }
        string[] Exclude { get; }
        string? Archive { get; }
        string? GitUrl { get; }
        string? Ref { get; }
        long MinFreeSpace { get; }
        string[] Artifact { get; }
        string? Destination { get; }
        string? WorkingDirectory { get; }
        Hashtable? Environment { get; }
        Hashtable? Secret { get; }
        string? LogPath { get; }
        TimeSpan? Timeout { get; }
    }

    /// <summary>The guest parameters Start-OpenBsdGuest and Invoke-OpenBsdBuild both take (see <see cref="IBuildParameters"/>).</summary>
    internal interface IGuestParameters
    {
        /// <summary>The guest's name: Start-OpenBsdGuest's -Name, Invoke-OpenBsdBuild's -GuestName.</summary>
        string? GuestName { get; }
        long Memory { get; }
        int CpuCount { get; }
        TimeSpan BootTimeout { get; }
        string? User { get; }
        string? KeyFile { get; }
        string[] HostKeyFingerprint { get; }
        SwitchParameter TrustHostKey { get; }
        SwitchParameter EnableMsiX { get; }
        string? Accelerator { get; }
    }

    /// <summary>Checks and converts the shared build and guest parameters, for every cmdlet that takes them.</summary>
    internal static class ParameterBinding
    {
        /// <summary>What can be checked before anything runs: one source, an existing -Path, an absolute working directory, a positive timeout.</summary>
        public static void Validate(OpenBsdBuildCmdlet cmdlet, IBuildParameters p)
        {
            if (p.Timeout.HasValue && p.Timeout.Value <= TimeSpan.Zero)
                cmdlet.ThrowBadParameter(nameof(p.Timeout), p.Timeout, "must be positive.", "Pass e.g. -Timeout (New-TimeSpan -Hours 2).");
            // Invoke-GuestBuild's parameter sets already keep these apart; Invoke-OpenBsdBuild has one set for all.
            var sources = new[] { (nameof(p.Path), p.Path), (nameof(p.Archive), p.Archive), (nameof(p.GitUrl), p.GitUrl) }.Where(s => s.Item2 != null).ToList();
            if (sources.Count > 1)
                cmdlet.ThrowBadParameter(sources[1].Item1, sources[1].Item2, $"was given together with -{sources[0].Item1}.", "Send the sources one way: -Path, -Archive or -GitUrl.");
            if (p.Ref != null && p.GitUrl == null)
                cmdlet.ThrowBadParameter(nameof(p.Ref), p.Ref, "needs -GitUrl.", "Pass -GitUrl with the repository to clone at this ref.");
            if (p.Path != null && !Directory.Exists(cmdlet.ResolveLocalPath(p.Path)))
                cmdlet.ThrowBadParameter(nameof(p.Path), p.Path, "no such directory.", "Pass -Path with the local directory that holds the sources.");
            if (p.WorkingDirectory != null && !p.WorkingDirectory.StartsWith("/", StringComparison.Ordinal))
                cmdlet.ThrowBadParameter(nameof(p.WorkingDirectory), p.WorkingDirectory, "must be an absolute path in the guest.", "Pass e.g. -WorkingDirectory /usr/obj/myproject.");
        }

        /// <summary>The build as the engine takes it; <paramref name="defaultDestination"/> is used when -Destination is not given.</summary>
        public static BuildSpec ToBuildSpec(OpenBsdBuildCmdlet cmdlet, IBuildParameters p, string defaultDestination, string? user) => new BuildSpec
        {
            Command = p.Command,
            SourcePath = p.Path == null ? null : cmdlet.ResolveLocalPath(p.Path),
            IncludeIgnored = p.IncludeIgnored,
            Exclude = p.Exclude,
            ArchivePath = p.Archive == null ? null : cmdlet.ResolveExistingFile(nameof(p.Archive), p.Archive),
            GitUrl = p.GitUrl,
            GitRef = p.Ref,
            User = user,
            MinFreeSpace = p.MinFreeSpace,
            WorkingDirectory = p.WorkingDirectory,
            Environment = cmdlet.ToEnvironment(nameof(p.Environment), p.Environment, secret: false),
            Secrets = cmdlet.ToEnvironment(nameof(p.Secret), p.Secret, secret: true),
            Artifacts = p.Artifact,
            Destination = cmdlet.ResolveLocalPath(p.Destination ?? defaultDestination),
            LogPath = p.LogPath == null ? null : cmdlet.ResolveLocalPath(p.LogPath),
            Timeout = p.Timeout,
        };

        public static void Validate(OpenBsdBuildCmdlet cmdlet, IGuestParameters p)
        {
            if (p.BootTimeout <= TimeSpan.Zero || p.BootTimeout > TimeSpan.FromHours(6))
                cmdlet.ThrowBadParameter(nameof(p.BootTimeout), p.BootTimeout, "must be between 1 second and 6 hours.", "Pass e.g. -BootTimeout (New-TimeSpan -Minutes 10).");
            cmdlet.ValidateFingerprints(nameof(p.HostKeyFingerprint), p.HostKeyFingerprint);
        }

        /// <summary>How long a guest gets to power off before it is killed (Stop-OpenBsdGuest, Disconnect- and Remove-MetalHost).</summary>
        public static void ValidateGracePeriod(OpenBsdBuildCmdlet cmdlet, string parameter, TimeSpan gracePeriod)
        {
            if (gracePeriod < TimeSpan.Zero || gracePeriod > TimeSpan.FromHours(1))
                cmdlet.ThrowBadParameter(parameter, gracePeriod, "must be between 0 and 1 hour.", $"Pass e.g. -{parameter} (New-TimeSpan -Seconds 30).");
        }

        /// <summary>The guest as the engine takes it; the cmdlet adds what only it has (image path, port, firmware).</summary>
        public static GuestOptions ToGuestOptions(OpenBsdBuildCmdlet cmdlet, IGuestParameters p, string image, string? architecture) => new GuestOptions
        {
            Name = p.GuestName,
            Image = image,
            Architecture = architecture,
            MemoryMB = (int)(p.Memory / (1024 * 1024)),
            CpuCount = p.CpuCount,
            BootTimeout = p.BootTimeout,
            User = p.User,
            KeyFile = cmdlet.ResolveGuestKey(p.KeyFile),
            HostKeyFingerprints = p.HostKeyFingerprint,
            TrustHostKey = p.TrustHostKey,
            MsiX = p.EnableMsiX,
            Accelerator = p.Accelerator,
        };
    }
}
