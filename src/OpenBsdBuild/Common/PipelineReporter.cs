using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Management.Automation;
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

        public PipelineReporter(bool verbose) => _verbose = verbose;

        public void Progress(string activity, string status, int percent = -1, int id = 0) =>
            _queue.Add(c => c.WriteProgress(new ProgressRecord(ActivityId(activity, id), activity, string.IsNullOrEmpty(status) ? " " : status)
            {
                PercentComplete = Math.Max(-1, Math.Min(100, percent))
            }));

        public void ProgressDone(string activity, int id = 0) =>
            _queue.Add(c => c.WriteProgress(new ProgressRecord(ActivityId(activity, id), activity, "Done")
            {
                RecordType = ProgressRecordType.Completed
            }));

        public void Verbose(string message)
        {
            if (_verbose) _queue.Add(c => c.WriteVerbose(message));
        }
        public void Warning(string message) => _queue.Add(c => c.WriteWarning(message));
        public void Information(string message, params string[] tags) => _queue.Add(c => c.WriteInformation(message, tags));

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
