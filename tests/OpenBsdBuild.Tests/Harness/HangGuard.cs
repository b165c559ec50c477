using System;
using System.Collections.Concurrent;
using System.Reflection;
using System.Threading;
using Xunit.Sdk;

[assembly: OpenBsdBuild.Tests.Harness.HangGuard]

namespace OpenBsdBuild.Tests.Harness
{
    /// <summary>
    /// Stops the run when one test runs longer than <see cref="Bound"/>, naming it. The blame collector's guard in
    /// hang.runsettings counts inactivity of the whole run: while other collections' tests keep finishing beside a
    /// hung one, it never fires (a hung link test once ran 16 min). A test's thread cannot be aborted in .NET, so the
    /// test host is ended: the run fails at once, with this test's name in the log and blame's sequence file.
    /// Covers the test method; a hang in a fixture's set-up or clean-up is left to the blame guard.
    /// </summary>
    [AttributeUsage(AttributeTargets.Assembly)]
    public sealed class HangGuardAttribute : BeforeAfterTestAttribute
    {
        /// <summary>
        /// Past what any test may take on a loaded 2-core machine: the longest seen took ~5 min, and no test waits on one
        /// step for more than 10 min (Ec2AgentTests' boot), so only a test that is stuck gets here.
        /// </summary>
        public static readonly TimeSpan Bound = TimeSpan.FromMinutes(20);

        private static readonly ConcurrentDictionary<MethodInfo, Timer> Running = new ConcurrentDictionary<MethodInfo, Timer>();

        public override void Before(MethodInfo methodUnderTest)
        {
            string name = methodUnderTest.DeclaringType?.FullName + "." + methodUnderTest.Name;
            var timer = new Timer(_ =>
            {
                string said = $"HANG GUARD: {name} ran longer than {Bound.TotalSeconds:0} s; ending the test run (tests/OpenBsdBuild.Tests/Harness/HangGuard.cs).";
                Console.Error.WriteLine(said);
                Console.Out.WriteLine(said);
                Environment.FailFast(said);
            }, null, Bound, Timeout.InfiniteTimeSpan);
            if (Running.TryGetValue(methodUnderTest, out var earlier)) earlier.Dispose();
            Running[methodUnderTest] = timer;
        }

        public override void After(MethodInfo methodUnderTest)
        {
            if (Running.TryRemove(methodUnderTest, out var timer)) timer.Dispose();
        }
    }
}
