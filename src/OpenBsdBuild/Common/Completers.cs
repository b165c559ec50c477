using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Guest;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Common
{
    /// <summary>Tab completion from a list of candidates; a completer only says where its candidates come from.</summary>
    public abstract class CandidateCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string typed = (wordToComplete ?? "").Trim('\'', '"');
            IEnumerable<string> candidates;
            try
            {
                candidates = Candidates(fakeBoundParameters);
            }
            catch (Exception)
            {
                // Completion must never throw at the user's prompt; no suggestions is the honest answer.
                yield break;
            }
            foreach (string c in candidates.Distinct(StringComparer.OrdinalIgnoreCase))
                if (c.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                    yield return Suggestion(c);
        }

        protected abstract IEnumerable<string> Candidates(IDictionary fakeBoundParameters);

        /// <summary>A value as the prompt shows it and inserts it: single-quoted when PowerShell would read it otherwise.</summary>
        internal static CompletionResult Suggestion(string value) =>
            new CompletionResult(Quote(value), value, CompletionResultType.ParameterValue, value);

        private static string Quote(string value) => value.IndexOfAny(new[] { ' ', '\'', '$', '`', ';' }) >= 0 ? "'" + value.Replace("'", "''") + "'" : value;
    }

    /// <summary>-Region: the regions the bundled AWS SDK knows.</summary>
    public sealed class RegionCompleter : CandidateCompleter
    {
        protected override IEnumerable<string> Candidates(IDictionary bound) => AwsRegions.Names;
    }

    /// <summary>-InstanceType: the bare-metal types for the bound -Architecture (both when none is bound).</summary>
    public sealed class MetalTypeCompleter : CandidateCompleter
    {
        protected override IEnumerable<string> Candidates(IDictionary bound)
        {
            string? arch = bound["Architecture"]?.ToString();
            return LaunchPlan.MetalTypes.Where(t => arch == null || t.Key.Equals(arch, StringComparison.OrdinalIgnoreCase)).SelectMany(t => t.Value);
        }
    }

    /// <summary>-InstanceType of New-OpenBsdInstance: the Graviton2 types ena(4) works on.</summary>
    public sealed class NativeTypeCompleter : CandidateCompleter
    {
        protected override IEnumerable<string> Candidates(IDictionary bound) => NativeInstanceTypes.Defaults("arm64");
    }

    /// <summary>
    /// -Name of Get-OpenBsdGuest: the guests this session started, on any attached host, and the guests recorded on
    /// attached hosts that live on this machine (no network at the prompt).
    /// </summary>
    public sealed class GuestNameCompleter : CandidateCompleter
    {
        protected override IEnumerable<string> Candidates(IDictionary bound)
        {
            var hosts = HostRegistry.All.Where(h => h.State != HostState.Removed && h.State != HostState.Disconnected).ToList();
            // Known without asking anyone, so offered however busy the machine is.
            var names = hosts.SelectMany(h => h.Guests).Select(g => g.Name).ToList();
            // Another session's guests are read from disk within a prompt's patience; on a loaded machine that may not be enough.
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            foreach (var host in hosts.Where(h => h.Provider == HostProvider.Local))
            {
                try
                {
                    names.AddRange(GuestControl.ListAsync(host, quick.Token).GetAwaiter().GetResult().Select(g => g.Name));
                }
                catch (Exception)
                {
                    // One host whose state cannot be read in time must not hide the others' guests.
                }
            }
            return names;
        }
    }

    /// <summary>-Version of Get-OpenBsdImage: the versions of the images at the bound -Location (a folder or an S3 prefix), newest first.</summary>
    public sealed class ImageVersionCompleter : CandidateCompleter
    {
        protected override IEnumerable<string> Candidates(IDictionary bound)
        {
            object? location = bound["Location"];
            var places = location is string one ? new[] { one }
                : (location as IEnumerable)?.Cast<object>().Select(o => o.ToString() ?? "") ?? Array.Empty<string>();
            string? arch = bound["Architecture"]?.ToString();
            // A prompt must not wait long on a bucket: a few seconds, then whatever was found.
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var versions = new List<string>();
            foreach (string place in places.Select(p => S3Location.IsS3Uri(p) ? p.Trim() : CompletionPaths.Resolve(p)).Where(p => S3Location.IsS3Uri(p) || Directory.Exists(p)))
            {
                try
                {
                    var (images, _) = ImageLibrary.FindAsync(place, null, arch, AwsOptions(bound), NullReporter.Instance, quick.Token).GetAwaiter().GetResult();
                    versions.AddRange(images.Select(i => i.Version));
                }
                catch (Exception)
                {
                    // An unreachable bucket or missing credentials: no suggestions from this place.
                }
            }
            return versions;
        }

        /// <summary>The AWS parameters typed so far on the command line.</summary>
        internal static AwsConnectionOptions AwsOptions(IDictionary bound) => new AwsConnectionOptions
        {
            Region = bound["Region"]?.ToString(),
            ProfileName = bound["ProfileName"]?.ToString(),
            ProfileLocation = bound["ProfileLocation"]?.ToString(),
            AccessKey = bound["AccessKey"]?.ToString(),
            SecretKey = bound["SecretKey"]?.ToString(),
            SessionToken = bound["SessionToken"]?.ToString(),
            EndpointUrl = bound["EndpointUrl"] is object url ? new Uri(url.ToString()!) : null,
        };
    }
}

namespace OpenBsdBuild.Common
{
    /// <summary>Paths typed at the prompt, read the way the command will read them: relative to $PWD, ~, PSDrives.</summary>
    internal static class CompletionPaths
    {
        private static readonly ScriptBlock ProviderPath =
            ScriptBlock.Create("param($p) $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($p)");

        public static string Resolve(string path)
        {
            try { return ProviderPath.Invoke(path).FirstOrDefault()?.ToString() ?? path; }
            catch (RuntimeException) { return path; }
        }
    }

    /// <summary>
    /// -Image: golden images, not any file. Local: folders (to walk into) and image files (.qcow2, or anything with its
    /// metadata sidecar), never the sidecars or notes beside them; relative to $PWD. s3://bucket/prefix: the images there.
    /// On a host attached over SSH (bound to -MetalHost, or piped in from a variable or from Connect-MetalHost -HostName of a
    /// host attached in this session): the same, read on that host, where the path will be opened.
    /// </summary>
    public sealed class ImageCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
            CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            string typed = (wordToComplete ?? "").Trim('\'', '"');
            List<string> candidates;
            try
            {
                candidates = S3Location.IsS3Uri(typed) ? S3Images(typed, fakeBoundParameters)
                    : RemoteHost(commandAst, fakeBoundParameters) is MetalHost remote ? HostImages(remote, typed)
                    : LocalImages(typed);
            }
            catch (Exception)
            {
                yield break; // completion must never throw at the prompt
            }
            foreach (string c in candidates.OrderBy(c => c, StringComparer.Ordinal))
                yield return CandidateCompleter.Suggestion(c);
        }

        internal static bool IsImageFile(string path) =>
            !path.EndsWith(Model.ImageMetadata.SidecarSuffix, StringComparison.OrdinalIgnoreCase)
            && (path.EndsWith(".qcow2", StringComparison.OrdinalIgnoreCase) || File.Exists(path + Model.ImageMetadata.SidecarSuffix));

        private static List<string> LocalImages(string typed)
        {
            // Keep what the user typed in front (./, ~/, a relative folder) and complete the last part.
            int cut = Math.Max(typed.LastIndexOf('/'), typed.LastIndexOf(Path.DirectorySeparatorChar)) + 1;
            string typedFolder = typed.Substring(0, cut), typedName = typed.Substring(cut);
            string folder = CompletionPaths.Resolve(typedFolder.Length == 0 ? "." : typedFolder);
            var result = new List<string>();
            if (!Directory.Exists(folder)) return result;
            foreach (string dir in Directory.GetDirectories(folder))
            {
                string name = Path.GetFileName(dir);
                if (name.StartsWith(typedName, StringComparison.OrdinalIgnoreCase) && !name.StartsWith(".", StringComparison.Ordinal))
                    result.Add(typedFolder + name + "/");
            }
            foreach (string file in Directory.GetFiles(folder))
            {
                string name = Path.GetFileName(file);
                if (name.StartsWith(typedName, StringComparison.OrdinalIgnoreCase) && IsImageFile(file)) result.Add(typedFolder + name);
            }
            return result;
        }

        /// <summary>The host a path typed for this command is opened on, when it is not this machine; null otherwise.</summary>
        private static MetalHost? RemoteHost(CommandAst commandAst, IDictionary bound)
        {
            object? host = bound["MetalHost"];
            if (host == null && commandAst.Parent is PipelineAst pipeline)
            {
                int at = pipeline.PipelineElements.IndexOf(commandAst);
                if (at > 0) host = Upstream(pipeline.PipelineElements[at - 1]);
            }
            if (host is PSObject wrapped) host = wrapped.BaseObject;
            return host is MetalHost m && m.Provider != HostProvider.Local && m.State == HostState.Ready ? m : null;
        }

        private static readonly ScriptBlock VariableValue = ScriptBlock.Create("param($n) $ExecutionContext.SessionState.PSVariable.GetValue($n)");

        /// <summary>What the stage before this one hands on, when that can be known without running it.</summary>
        private static object? Upstream(CommandBaseAst stage)
        {
            if (stage is CommandExpressionAst { Expression: VariableExpressionAst variable })
                return VariableValue.Invoke(variable.VariablePath.UserPath).FirstOrDefault();
            if (stage is CommandAst command && string.Equals(command.GetCommandName(), "Connect-MetalHost", StringComparison.OrdinalIgnoreCase))
            {
                // Running it again would connect; a host already attached under that name is the one it would give.
                int at = command.CommandElements.ToList().FindIndex(e => e is CommandParameterAst p && p.ParameterName.Equals("HostName", StringComparison.OrdinalIgnoreCase));
                if (at < 0 || at + 1 >= command.CommandElements.Count || !(command.CommandElements[at + 1] is StringConstantExpressionAst name)) return null;
                return HostRegistry.All.LastOrDefault(h => h.Provider == HostProvider.Ssh && h.State == HostState.Ready
                    && string.Equals(h.HostName, name.Value, StringComparison.OrdinalIgnoreCase));
            }
            return null;
        }

        private static List<string> HostImages(MetalHost host, string typed)
        {
            int cut = typed.LastIndexOf('/') + 1;
            string typedFolder = typed.Substring(0, cut), typedName = typed.Substring(cut);
            // A prompt must not wait long on a host: a few seconds, then nothing.
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var names = Hosts.HostFolder.ListAsync(host, typedFolder, quick.Token).GetAwaiter().GetResult();
            var present = new HashSet<string>(names, StringComparer.Ordinal);
            return names.Where(n => n.StartsWith(typedName, StringComparison.OrdinalIgnoreCase))
                .Where(n => n.EndsWith("/", StringComparison.Ordinal) ? !n.StartsWith(".", StringComparison.Ordinal)
                    : !n.EndsWith(Model.ImageMetadata.SidecarSuffix, StringComparison.OrdinalIgnoreCase)
                      && (n.EndsWith(".qcow2", StringComparison.OrdinalIgnoreCase) || present.Contains(n + Model.ImageMetadata.SidecarSuffix)))
                .Select(n => typedFolder + n).ToList();
        }

        private static List<string> S3Images(string typed, IDictionary bound)
        {
            string prefix = typed.Substring(0, typed.LastIndexOf('/') + 1);
            if (prefix.Length <= "s3://".Length) return new List<string>(); // no bucket yet: nothing to list
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            var (images, _) = ImageLibrary.FindAsync(prefix, null, null, ImageVersionCompleter.AwsOptions(bound), NullReporter.Instance, quick.Token)
                .GetAwaiter().GetResult();
            return images.Select(i => i.Location).Where(l => l.StartsWith(typed, StringComparison.Ordinal)).ToList();
        }
    }
}
