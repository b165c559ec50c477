namespace OpenBsdBuild.Reporting
{
    /// <summary>
    /// How engine code talks to whoever runs it. The cmdlet layer turns these into PowerShell
    /// progress, verbose, information and warning records on the pipeline thread; tests and
    /// benchmarks may pass <see cref="NullReporter"/>. Implementations must be thread-safe.
    /// </summary>
    public interface IOperationReporter
    {
        /// <param name="percent">0-100, or -1 when unknown.</param>
        void Progress(string activity, string status, int percent = -1, int id = 0);
        void ProgressDone(string activity, int id = 0);
        void Verbose(string message);
        void Warning(string message);
        /// <summary>A line of guest output or another user-facing message, with tags such as "stdout".</summary>
        void Information(string message, params string[] tags);
    }

    public sealed class NullReporter : IOperationReporter
    {
        public static readonly NullReporter Instance = new NullReporter();
        public void Progress(string activity, string status, int percent = -1, int id = 0) { }
        public void ProgressDone(string activity, int id = 0) { }
        public void Verbose(string message) { }
        public void Warning(string message) { }
        public void Information(string message, params string[] tags) { }
    }
}
