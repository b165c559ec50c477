using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// Collects engine events from any thread and replays them on the pipeline thread, the only
    /// thread allowed to write to PowerShell's streams.
    /// </summary>
    internal sealed class PipelineReporter : IOperationReporter
    {
        private readonly BlockingCollection<Action<Cmdlet>> _queue = new BlockingCollection<Action<Cmdlet>>();
        private readonly Dictionary<string, int> _activityIds = new Dictionary<string, int>();
        private readonly bool _verbose;
        private readonly string? _rootActivity;
        // Touched only on the pipeline thread (inside queued writes).
        private bool _rootActive;

        /// <param name="rootActivity">The running cmdlet's own activity (e.g. Invoke-OpenBsdBuild): while it shows, every
        /// other activity (a host launch, a guest boot, an upload) is drawn as its child, not as a sibling.</param>
        public PipelineReporter(bool verbose, string? rootActivity = null)
        {
            _verbose = verbose;
            _rootActivity = rootActivity;
        }

        public void Progress(string activity, string status, int percent = -1, int id = 0)
        {
            string clean = Printable(status);
            _queue.Add(c =>
            {
                var record = new ProgressRecord(ActivityId(activity, id), activity, clean.Length == 0 ? " " : clean)
                {
                    PercentComplete = Math.Max(-1, Math.Min(100, percent)),
                };
                Nest(record, activity, id, completed: false);
                c.WriteProgress(record);
            });
        }

        public void ProgressDone(string activity, int id = 0) =>
            _queue.Add(c =>
            {
                var record = new ProgressRecord(ActivityId(activity, id), activity, "Done") { RecordType = ProgressRecordType.Completed };
                Nest(record, activity, id, completed: true);
                c.WriteProgress(record);
            });

        public void Verbose(string message)
        {
            if (_verbose) _queue.Add(c => c.WriteVerbose(Printable(message)));
        }

        public void Warning(string message) => _queue.Add(c => c.WriteWarning(Printable(message)));

        /// <summary>
        /// Guest output and other lines for the user, shown as Write-Host shows them (tagged PSHOST: displayed whatever
        /// $InformationPreference says, still captured by 6>&amp;1 or -InformationVariable, dropped by -InformationAction Ignore).
        /// </summary>
        public void Information(string message, params string[] tags)
        {
            var hostTags = new string[tags.Length + 1];
            tags.CopyTo(hostTags, 0);
            hostTags[tags.Length] = "PSHOST";
            var line = new HostInformationMessage { Message = Printable(message) };
            _queue.Add(c => c.WriteInformation(line, hostTags));
        }

        /// <summary>Queues an object or error for the pipeline, so results of parallel work appear as each finishes.</summary>
        public void Emit(Action<Cmdlet> write) => _queue.Add(write);

        /// <summary>
        /// Writes queued records until <paramref name="work"/> has finished. If the pipeline is
        /// stopped meanwhile (Ctrl+C), it keeps waiting for the work to clean up, silently.
        /// </summary>
        public void PumpUntil(Task work, Cmdlet cmdlet)
        {
            bool stopped = false;
            while (true)
            {
                if (_queue.TryTake(out var write, 50))
                {
                    if (stopped) continue;
                    try { write(cmdlet); }
                    catch (PipelineStoppedException) { stopped = true; }
                }
                else if (work.IsCompleted && _queue.Count == 0) break;
            }
            if (stopped && !work.IsFaulted) throw new PipelineStoppedException();
        }

        private void Nest(ProgressRecord record, string activity, int id, bool completed)
        {
            if (_rootActivity == null) return;
            if (activity == _rootActivity && id == 0) _rootActive = !completed;
            else if (_rootActive) record.ParentActivityId = ActivityId(_rootActivity, 0);
        }

        // Escape sequences (CSI such as ESC[2J that clears the screen, OSC, two-character ESC x) and other control
        // characters from a serial console or a build's output: the host would act on them, not print them.
        private static readonly Regex ControlSequences = new Regex(
            @"\x1B\[[0-?]*[ -/]*[@-~]|\x1B\][^\x07\x1B]*(\x07|\x1B\\)?|\x1B[@-Z\\-_]|[\x00-\x08\x0B-\x1F\x7F]", RegexOptions.Compiled);

        internal static string Printable(string? text) => text == null ? "" : ControlSequences.Replace(text, "");

        private int ActivityId(string activity, int id)
        {
            string key = activity + "\0" + id;
            lock (_activityIds)
            {
                if (!_activityIds.TryGetValue(key, out int value))
                {
                    value = (Math.Abs(activity.GetHashCode()) % 100000) + 1000 + _activityIds.Count;
                    _activityIds[key] = value;
                }
                return value;
            }
        }
    }
}
