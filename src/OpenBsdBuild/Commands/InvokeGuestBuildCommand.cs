using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using System.Text.RegularExpressions;
using OpenBsdBuild.Build;
using OpenBsdBuild.Common;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Commands
{
    /// <summary>Sends sources to a guest, runs the build with live output, and brings back verified artifacts.</summary>
    [Cmdlet(VerbsLifecycle.Invoke, "GuestBuild", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(GuestBuildResult))]
    public sealed class InvokeGuestBuildCommand : OpenBsdBuildCmdlet
    {
        private static readonly Regex EnvironmentName = new Regex("^[A-Za-z_][A-Za-z0-9_]*$");

        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public OpenBsdGuest Guest { get; set; } = null!;

        /// <summary>Shell command run with /bin/sh in the working directory.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Command { get; set; } = "";

        /// <summary>Local source directory, sent as one tar.gz stream.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Path { get; set; }

        /// <summary>Send files git ignores too (default: tracked plus untracked-but-not-ignored).</summary>
        [Parameter]
        public SwitchParameter IncludeIgnored { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[] Exclude { get; set; } = new string[0];

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

        protected override void BeginProcessing()
        {
            if (Timeout.HasValue && Timeout.Value <= TimeSpan.Zero)
                ThrowBadParameter(nameof(Timeout), Timeout, "must be positive.", "Pass e.g. -Timeout (New-TimeSpan -Hours 2).");
            if (Path != null && !Directory.Exists(ResolveLocalPath(Path)))
                ThrowBadParameter(nameof(Path), Path, "no such directory.", "Pass -Path with the local directory that holds the sources.");
            if (WorkingDirectory != null && !WorkingDirectory.StartsWith("/", StringComparison.Ordinal))
                ThrowBadParameter(nameof(WorkingDirectory), WorkingDirectory, "must be an absolute path in the guest.", "Pass e.g. -WorkingDirectory /usr/obj/myproject.");
        }

        protected override void ProcessRecord()
        {
            var spec = new BuildSpec
            {
                Command = Command,
                SourcePath = Path == null ? null : ResolveLocalPath(Path),
                IncludeIgnored = IncludeIgnored,
                Exclude = Exclude,
                WorkingDirectory = WorkingDirectory,
                Environment = ToStrings(nameof(Environment), Environment, secret: false),
                Secrets = ToStrings(nameof(Secret), Secret, secret: true),
                Artifacts = Artifact,
                Destination = ResolveLocalPath(Destination ?? System.IO.Path.Combine("artifacts", Guest.Name)),
                LogPath = LogPath == null ? null : ResolveLocalPath(LogPath),
                Timeout = Timeout,
            };
            if (!ShouldProcess($"{Guest.Name} on {Guest.HostName}", $"Run '{new SecretMasker(spec.Secrets.Values).Mask(Command)}'")) return;
            try
            {
                WriteObject(RunEngine((r, ct) => BuildRunner.RunAsync(Guest, spec, r, ct)));
            }
            catch (BuildFailedException ex)
            {
                ThrowEngineError(ex, ex.Result);
            }
            catch (OpenBsdBuildException ex)
            {
                ThrowEngineError(ex);
            }
        }

        private Dictionary<string, string> ToStrings(string parameter, Hashtable? table, bool secret)
        {
            var result = new Dictionary<string, string>();
            if (table == null) return result;
            foreach (DictionaryEntry e in table)
            {
                string name = e.Key?.ToString() ?? "";
                if (!EnvironmentName.IsMatch(name))
                    ThrowBadParameter(parameter, name, "not a valid environment variable name.", "Use letters, digits and underscores, not starting with a digit.");
                object? value = e.Value is PSObject ps ? ps.BaseObject : e.Value;
                string text = value switch
                {
                    SecureString s => Plain(s),
                    PSCredential c => Plain(c.Password),
                    null => "",
                    _ when secret => throw new PSArgumentException($"-Secret {name}: pass a SecureString or PSCredential, not plain text.", parameter),
                    _ => value.ToString() ?? "",
                };
                if (secret && text.IndexOf('\n') >= 0)
                    ThrowBadParameter(parameter, name, "a secret may not contain a line break.", "Encode multi-line secrets (e.g. base64) and decode them in the build.");
                result[name] = text;
            }
            return result;
        }

        private static string Plain(SecureString secure)
        {
            IntPtr p = Marshal.SecureStringToGlobalAllocUnicode(secure);
            try { return Marshal.PtrToStringUni(p) ?? ""; }
            finally { Marshal.ZeroFreeGlobalAllocUnicode(p); }
        }
    }
}
