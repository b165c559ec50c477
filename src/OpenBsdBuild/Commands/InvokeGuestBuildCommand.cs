using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Builds;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Commands
{
    /// <summary>Sends sources to a guest, runs the build with live output, and brings back verified artifacts.</summary>
    [Cmdlet(VerbsLifecycle.Invoke, "GuestBuild", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low, DefaultParameterSetName = "Path")]
    [OutputType(typeof(GuestBuildResult))]
    public sealed class InvokeGuestBuildCommand : OpenBsdBuildCmdlet, IBuildParameters
    {
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public OpenBsdGuest Guest { get; set; } = null!;

        /// <summary>Shell command run with /bin/sh in the working directory.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Command { get; set; } = "";

        /// <summary>Local source directory, sent as one tar.gz stream.</summary>
        [Parameter(ParameterSetName = "Path")]
        [Alias("LiteralPath")]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>Send files git ignores too (default: tracked plus untracked-but-not-ignored).</summary>
        [Parameter(ParameterSetName = "Path")]
        public SwitchParameter IncludeIgnored { get; set; }

        [Parameter(ParameterSetName = "Path")]
        [ValidateNotNullOrEmpty]
        public string[] Exclude { get; set; } = new string[0];

        /// <summary>A tar.gz you already made, unpacked in the working directory.</summary>
        [Parameter(Mandatory = true, ParameterSetName = "Archive")]
        [ValidateNotNullOrEmpty]
        public string? Archive { get; set; }

        /// <summary>A git repository the guest clones itself.</summary>
        [Parameter(Mandatory = true, ParameterSetName = "Git")]
        [ValidateNotNullOrEmpty]
        public string? GitUrl { get; set; }

        /// <summary>Branch, tag or commit to build (default: the repository's default branch).</summary>
        [Parameter(ParameterSetName = "Git")]
        [ValidateNotNullOrEmpty]
        public string? Ref { get; set; }

        /// <summary>Guest user to build as (default: the image's build user). Uses the same key.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? User { get; set; }

        /// <summary>Free space the working directory needs before anything is sent (default 4 GB, sized for a Rust release build).</summary>
        [Parameter]
        [ValidateRange(0L, long.MaxValue)]
        public long MinFreeSpace { get; set; } = 4L << 30;

        /// <summary>How many piped guests build at once.</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        /// <summary>Files, directories or globs to bring back, relative to the working directory.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] Artifact { get; set; } = new string[0];

        /// <summary>Local folder for artifacts, the SHA256 file and the log (default ./artifacts/&lt;guest&gt;).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Destination { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? WorkingDirectory { get; set; }

        [Parameter]
        public Hashtable? Environment { get; set; }

        /// <summary>Name = SecureString or PSCredential; passed as environment variables, masked in all output.</summary>
        [Parameter]
        public Hashtable? Secret { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? LogPath { get; set; }

        [Parameter]
        public TimeSpan? Timeout { get; set; }

        protected override void BeginProcessing() => ParameterBinding.Validate(this, this);

        private readonly List<(OpenBsdGuest guest, BuildSpec spec)> _builds = new List<(OpenBsdGuest, BuildSpec)>();

        protected override void ProcessRecord()
        {
            var spec = ParameterBinding.ToBuildSpec(this, this, System.IO.Path.Combine("artifacts", Guest.Name), User);
            if (_builds.Any(b => b.spec.Destination == spec.Destination))
                ThrowBadParameter(nameof(Destination), Destination, "several guests would write their artifacts to the same folder.",
                    "Leave -Destination out (each guest gets ./artifacts/<guest>) or build one guest at a time.");
            if (ShouldProcess($"{Guest.Name} on {Guest.HostName}", $"Run '{new SecretMasker(spec.Secrets.Values).Mask(Command)}'"))
                _builds.Add((Guest, spec));
        }

        /// <summary>
        /// Builds run here, once every guest has arrived, up to -ThrottleLimit at a time. Every
        /// build writes its result, failed or not, and a failure is also a non-terminating error
        /// (target: the result), so a Remove-MetalHost later in the pipeline still ends its host.
        /// </summary>
        protected override void EndProcessing()
        {
            if (_builds.Count == 0) return;
            RunEngine(async (reporter, ct) =>
            {
                var emit = (PipelineReporter)reporter;
                using var slots = new SemaphoreSlim(ThrottleLimit);
                await Task.WhenAll(_builds.Select(async b =>
                {
                    await slots.WaitAsync(ct).ConfigureAwait(false);
                    try
                    {
                        var result = await BuildRunner.RunAsync(b.guest, b.spec, reporter, ct).ConfigureAwait(false);
                        emit.Emit(c => c.WriteObject(result));
                    }
                    catch (OpenBsdBuildException ex)
                    {
                        var result = ex is BuildFailedException bf ? bf.Result : GuestBuildResult.NotRun(b.guest, b.spec.Command, ex.Message);
                        emit.Emit(c => c.WriteObject(result));
                        emit.Emit(c => c.WriteError(ToErrorRecord(ex, ex.Target ?? result)));
                    }
                    finally
                    {
                        slots.Release();
                    }
                })).ConfigureAwait(false);
            });
        }
    }
}
