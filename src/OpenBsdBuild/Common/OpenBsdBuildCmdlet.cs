using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security;
using System.Text.RegularExpressions;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// What every cmdlet shares: running engine work with Ctrl+C wired to cancellation, and
    /// turning engine failures into ErrorRecords with an id, a category, a target and a fix.
    /// </summary>
    public abstract class OpenBsdBuildCmdlet : PSCmdlet, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new CancellationTokenSource();
        private readonly PipelineCustody _custody = new PipelineCustody();

        protected override void StopProcessing() => _stopping.Cancel();

        /// <summary>Holds a host or guest this invocation made until the pipeline ends (see <see cref="PipelineCustody"/>).</summary>
        protected void TakeCustody(object made) => _custody.Take(made, KeepOnFailureWanted);

        /// <summary>-KeepOnFailure of the creating cmdlets: what the pipeline made is kept (and named) instead of ended.</summary>
        protected virtual bool KeepOnFailureWanted => false;

        /// <summary>
        /// What this command holds is the user's machine, attached, not made (Connect-MetalHost): it is let go of
        /// (disconnected), never terminated.
        /// </summary>
        protected virtual bool HoldsAttachedHosts => false;

        /// <summary>
        /// PowerShell disposes every command of a pipeline once it has ended, normally or not: the
        /// one moment a cmdlet upstream learns that a stage after it threw or that the pipeline was stopped.
        /// </summary>
        public void Dispose()
        {
            if (_custody.IsEmpty) return;
            bool failed = PipelineEndedAbnormally();
            var (hosts, guests) = _custody.Release(failed);
            if (hosts.Count + guests.Count == 0) return;
            string names = string.Join(", ", hosts.Select(h => h.InstanceId ?? h.Name).Concat(guests.Select(g => g.Name)));
            string why = failed ? "the pipeline ended before it finished" : "no later stage took them";
            if (KeepOnFailureWanted)
            {
                HostWarning($"{MyInvocation.MyCommand.Name}: {why}; kept with -KeepOnFailure: {names}. " +
                            string.Join(" ", hosts.Where(h => h.InstanceId != null).Select(h => $"Remove with: Remove-MetalHost -InstanceId {h.InstanceId} -Region {h.Region}.")));
                return;
            }
            if (HoldsAttachedHosts)
            {
                // A host with a guest kept by -KeepOnFailure stays attached, so Get-OpenBsdGuest still finds that guest.
                var keep = hosts.Where(h => h.Guests.Any(PipelineCustody.IsKept)).ToList();
                var disconnect = hosts.Except(keep).ToList();
                var (stopped, stuck) = Task.Run(() => Flow.PipelineTeardown.DisconnectAsync(disconnect, NullReporter.Instance)).GetAwaiter().GetResult();
                foreach (var h in disconnect) HostRegistry.Remove(h);
                if (disconnect.Count > 0)
                    HostWarning($"{MyInvocation.MyCommand.Name}: {why}; disconnected from {string.Join(", ", disconnect.Select(h => h.Name))} (the machine is kept)" +
                                (stopped.Count > 0 ? $" and stopped the guests started on it: {string.Join(", ", stopped)}." : "."));
                if (keep.Count > 0)
                    HostWarning($"{MyInvocation.MyCommand.Name}: {why}; still attached to {string.Join(", ", keep.Select(h => h.Name))}, which holds a guest kept with -KeepOnFailure (Get-OpenBsdGuest lists it).");
                foreach (string problem in stuck) HostWarning(problem);
                return;
            }
            var problems = Task.Run(() => Flow.PipelineTeardown.EndAsync(hosts, guests, NullReporter.Instance)).GetAwaiter().GetResult();
            foreach (var h in hosts.Where(h => h.State == Model.HostState.Removed)) HostRegistry.Remove(h);
            HostWarning($"{MyInvocation.MyCommand.Name}: {why}; removed what it had made: {names}.");
            foreach (string problem in problems) HostWarning(problem);
        }

        /// <summary>
        /// True when this command's pipeline was stopped or failed with a terminating error. PowerShell
        /// logs a pipeline's terminating error (Ctrl+C included) on its pipeline processor before it
        /// disposes the commands, and has no public property for it, so the flag is read by name (its
        /// ExecutionFailed is no use: a non-terminating error sets it too). Where the name is missing,
        /// only Ctrl+C is known. The cases are tested in docs/reliability.md's table.
        /// </summary>
        private bool PipelineEndedAbnormally()
        {
            if (_stopping.IsCancellationRequested) return true;
            try
            {
                const System.Reflection.BindingFlags Internal = System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic;
                object runtime = CommandRuntime;
                object? processor = runtime?.GetType().GetProperty("PipelineProcessor", Internal)?.GetValue(runtime);
                var logged = processor?.GetType().GetField("_terminatingErrorLogged", Internal) ?? processor?.GetType().GetField("terminatingErrorLogged", Internal);
                if (logged?.GetValue(processor) is bool failed) return failed;
            }
            catch (Exception) { /* another PowerShell's internals: fall back to what this command saw */ }
            return false;
        }

        /// <summary>A warning written straight to the host: while a pipeline is disposed, its streams take no more records.</summary>
        private void HostWarning(string text)
        {
            try { Host?.UI?.WriteWarningLine(text); }
            catch (Exception) { /* no host UI (e.g. a remote runspace without one) */ }
        }

        /// <summary>Runs engine work off the pipeline thread while its records are written on it.</summary>
        protected T RunEngine<T>(Func<IOperationReporter, CancellationToken, Task<T>> work)
        {
            bool verbose = VerboseWanted;
            var reporter = new PipelineReporter(verbose, MyInvocation.MyCommand.Name);
            Task<T> task = Task.Run(() =>
            {
                // Every command, transfer and tunnel the work causes is announced (-Verbose only); set inside
                // the task, so it ends with this invocation and never leaks onto the pipeline thread.
                OperationTrace.Use(verbose ? reporter : null);
                return work(reporter, _stopping.Token);
            });
            reporter.PumpUntil(task, this);
            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            catch (Exception ex) when (Cloud.Aws.AwsErrors.Translate(ex) is OpenBsdBuildException aws)
            {
                throw aws;
            }
            catch (Exception ex) when (!(ex is OpenBsdBuildException || ex is PipelineStoppedException || ex is OperationCanceledException))
            {
                throw new OpenBsdBuildException("UnexpectedError", FailureKind.InvalidOperation,
                    $"{ex.GetType().Name}: {ex.Message}", null,
                    "This is a bug in OpenBsdBuild; please report it with the output of -Verbose and $Error[0].Exception.InnerException.", ex);
            }
        }

        /// <summary>-Verbose if given, else $VerbosePreference: a long build's every output line is not queued for nothing.</summary>
        private bool VerboseWanted =>
            MyInvocation.BoundParameters.TryGetValue("Verbose", out object? verbose)
                ? ((SwitchParameter)verbose).IsPresent
                : Enum.TryParse(Convert.ToString(GetVariableValue("VerbosePreference")), out ActionPreference preference)
                  && preference != ActionPreference.SilentlyContinue && preference != ActionPreference.Ignore;

        protected void RunEngine(Func<IOperationReporter, CancellationToken, Task> work) =>
            RunEngine<bool>(async (r, ct) => { await work(r, ct).ConfigureAwait(false); return true; });

        protected ErrorRecord ToErrorRecord(OpenBsdBuildException ex, object? target = null)
        {
            var category = (ErrorCategory)Enum.Parse(typeof(ErrorCategory), ex.Kind.ToString());
            var record = new ErrorRecord(ex, "OpenBsdBuild." + ex.ErrorId, category, target ?? ex.Target);
            record.ErrorDetails = new ErrorDetails(ex.Message) { RecommendedAction = ex.RecommendedAction };
            return record;
        }

        protected void WriteEngineError(OpenBsdBuildException ex, object? target = null) => WriteError(ToErrorRecord(ex, target));

        protected void ThrowEngineError(OpenBsdBuildException ex, object? target = null) => ThrowTerminatingError(ToErrorRecord(ex, target));

        /// <summary>A host Remove-MetalHost has ended cannot start guests: the error, or null for a host still in use.</summary>
        protected static OpenBsdBuildException? HostRemovedError(Model.MetalHost host) => host.State != Model.HostState.Removed ? null
            : new OpenBsdBuildException("HostRemoved", FailureKind.InvalidOperation, $"Host {host.Name} was removed; it cannot start guests.", host, "Attach or create a host again.");

        /// <summary>How each guest of a host teardown ended: verbose when it stopped, a non-terminating error when it could not be.</summary>
        protected void WriteGuestStops(Flow.HostTeardownResult ended)
        {
            foreach (var (guest, outcome) in ended.Stopped) WriteVerbose($"Guest {guest.Name}: {outcome}");
            foreach (var (guest, error) in ended.NotStopped)
            {
                WriteEngineError(error as OpenBsdBuildException ?? new OpenBsdBuildException("GuestNotStopped", FailureKind.ResourceUnavailable,
                    $"Guest {guest.Name} could not be stopped: {error.Message}", guest, "Stop it with Stop-OpenBsdGuest once its host answers.", error), guest);
            }
        }

        /// <summary>A bad parameter value, reported before anything is created.</summary>
        protected internal void ThrowBadParameter(string parameter, object? value, string problem, string fix) =>
            ThrowEngineError(OpenBsdBuildException.BadParameter(parameter, value, problem, fix));

        /// <summary>Each value must look like what ssh-keygen -lf prints; checked before anything connects.</summary>
        protected internal void ValidateFingerprints(string parameter, string[] fingerprints)
        {
            foreach (string f in fingerprints)
                if (!Remote.HostKeyPolicy.IsWellFormed(f))
                    ThrowBadParameter(parameter, f, "not an SSH SHA256 fingerprint.",
                        "Pass it as ssh-keygen -lf prints it, e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s.");
        }

        /// <summary>Resolves a PowerShell path (relative, ~, PSDrive) to a file system path without requiring it to exist.</summary>
        protected internal string ResolveLocalPath(string path) => GetUnresolvedProviderPathFromPSPath(path);

        protected internal string ResolveExistingFile(string parameter, string path)
        {
            string full = ResolveLocalPath(path);
            if (!File.Exists(full))
                ThrowBadParameter(parameter, path, "no such file.", $"Pass -{parameter} with the path of an existing file.");
            return full;
        }

        /// <summary>The private key for a guest: -KeyFile, else the first usual key in ~/.ssh.</summary>
        protected internal string ResolveGuestKey(string? keyFile)
        {
            if (keyFile != null) return ResolveExistingFile("KeyFile", keyFile);
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            string? found = new[] { "id_ed25519", "id_ecdsa", "id_rsa" }.Select(n => Path.Combine(home, ".ssh", n)).FirstOrDefault(File.Exists);
            if (found == null)
                ThrowBadParameter("KeyFile", null, "no key was given and none was found in ~/.ssh.",
                    "Pass -KeyFile with the private key whose public half the image authorizes.");
            return found!;
        }

        private static readonly Regex EnvironmentName = new Regex("^[A-Za-z_][A-Za-z0-9_]*$");

        /// <summary>-Environment / -Secret tables as name → text; secrets must arrive as SecureString or PSCredential.</summary>
        protected internal Dictionary<string, string> ToEnvironment(string parameter, Hashtable? table, bool secret)
        {
            var result = new Dictionary<string, string>();
            if (table == null) return result;
            foreach (DictionaryEntry e in table)
            {
                string name = e.Key?.ToString() ?? "";
                if (!EnvironmentName.IsMatch(name))
                    ThrowBadParameter(parameter, name, "not a valid environment variable name.", "Use letters, digits and underscores, not starting with a digit.");
                object? value = e.Value is PSObject ps ? ps.BaseObject : e.Value;
                if (secret && value != null && !(value is SecureString) && !(value is PSCredential))
                    ThrowBadParameter(parameter, name, "a secret given as plain text.",
                        $"Pass a SecureString or PSCredential, e.g. @{{ {name} = Read-Host -AsSecureString }}.");
                string text = value switch
                {
                    SecureString s => Plain(s),
                    PSCredential c => Plain(c.Password),
                    null => "",
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
