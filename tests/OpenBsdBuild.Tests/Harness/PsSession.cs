using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Threading.Tasks;

namespace OpenBsdBuild.Tests.Harness
{
    /// <summary>
    /// A real PowerShell runspace with the built module imported from its folder, as a user
    /// would load it. Scripts run in real pipelines; every stream is captured.
    /// </summary>
    public sealed class PsSession : IDisposable
    {
        private readonly Runspace _runspace;
        private PowerShell? _running;

        /// <param name="importModule">False for a bare engine (e.g. to run build.ps1), without the module.</param>
        public PsSession(TestPsHost? host = null, bool importModule = true)
        {
            Host = host ?? new TestPsHost();
            var iss = InitialSessionState.CreateDefault2();
            _runspace = RunspaceFactory.CreateRunspace(Host, iss);
            _runspace.Open();
            if (!importModule) return;
            var import = Run($"Import-Module '{Repo.ModuleManifest}' -ErrorAction Stop");
            if (import.Exception != null || import.HadErrors)
                throw new InvalidOperationException("Import-Module failed: " + (import.Exception?.Message ?? string.Join("; ", import.Errors)));
            // The test guest's /usr/obj is a 512 MB tmpfs; builds there are small. Set as a user would.
            Run("$PSDefaultParameterValues['Invoke-GuestBuild:MinFreeSpace'] = 64MB");
        }

        public TestPsHost Host { get; }

        public void Set(string name, object? value) => _runspace.SessionStateProxy.SetVariable(name, value);

        public PsResult Run(string script, IDictionary<string, object?>? variables = null)
        {
            if (variables != null) foreach (var kv in variables) Set(kv.Key, kv.Value);
            using var ps = PowerShell.Create();
            ps.Runspace = _runspace;
            ps.AddScript(script);
            _running = ps;
            var result = new PsResult();
            try
            {
                result.Output.AddRange(ps.Invoke());
            }
            catch (RuntimeException ex)
            {
                result.Exception = ex;
            }
            finally
            {
                _running = null;
            }
            result.Collect(ps, Host);
            return result;
        }

        /// <summary>Runs a script on another thread so the test can press Ctrl+C (<see cref="Stop"/>).</summary>
        public Task<PsResult> RunAsync(string script) => Task.Run(() => Run(script));

        /// <summary>What Ctrl+C does: stops the running pipeline.</summary>
        public void Stop()
        {
            // PowerShell.Stop() on an invocation that has not started yet fails; wait until it runs.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            PowerShell? ps;
            while (((ps = _running) == null || ps.InvocationStateInfo.State != PSInvocationState.Running) && DateTime.UtcNow < deadline)
                System.Threading.Thread.Sleep(20);
            // BeginStop: Stop() throws NullReferenceException for a synchronous Invoke() in SMA 7.6.
            ps?.BeginStop(null, null);
        }

        public void Dispose() => _runspace.Dispose();
    }

    public sealed class PsResult
    {
        public List<PSObject> Output { get; } = new List<PSObject>();
        public List<ErrorRecord> Errors { get; } = new List<ErrorRecord>();
        public List<ProgressRecord> Progress { get; } = new List<ProgressRecord>();
        public List<VerboseRecord> Verbose { get; } = new List<VerboseRecord>();
        public List<WarningRecord> Warnings { get; } = new List<WarningRecord>();
        public List<InformationRecord> Information { get; } = new List<InformationRecord>();
        public RuntimeException? Exception { get; set; }
        public bool HadErrors { get; private set; }
        /// <summary>The pipeline was stopped (Ctrl+C).</summary>
        public bool Stopped { get; private set; }
        public string HostText { get; private set; } = "";

        /// <summary>The terminating error if there was one, else the first non-terminating one.</summary>
        public ErrorRecord? FirstError => Exception?.ErrorRecord ?? Errors.FirstOrDefault();

        public T Single<T>() => (T)Output.Single(o => o.BaseObject is T).BaseObject;
        public IEnumerable<T> All<T>() => Output.Select(o => o.BaseObject).OfType<T>();

        internal void Collect(PowerShell ps, TestPsHost host)
        {
            Errors.AddRange(ps.Streams.Error);
            Progress.AddRange(ps.Streams.Progress);
            Verbose.AddRange(ps.Streams.Verbose);
            Warnings.AddRange(ps.Streams.Warning);
            Information.AddRange(ps.Streams.Information);
            HadErrors = ps.HadErrors || Exception != null;
            Stopped = ps.InvocationStateInfo.State == PSInvocationState.Stopped || Exception is PipelineStoppedException;
            HostText = host.Text;
        }

        public string Describe() =>
            $"exception: {Exception?.GetType().Name}: {Exception?.Message}\nerrors: {string.Join("\n", Errors.Select(e => e.FullyQualifiedErrorId + ": " + e.Exception?.Message))}\n" +
            $"output: {string.Join(", ", Output)}";
    }
}
