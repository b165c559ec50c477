using System.Linq;
using Xunit;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Module
{
    /// <summary>Engine verbose lines follow -Verbose first and $VerbosePreference otherwise, as PowerShell's own do.</summary>
    public sealed class VerbosePreferenceTests
    {
        [Theory]
        [InlineData("$VerbosePreference = 'Continue'; $h = Connect-MetalHost -Local", true)]
        [InlineData("$VerbosePreference = 'Continue'; $h = Connect-MetalHost -Local -Verbose:$false", false)]
        [InlineData("$h = Connect-MetalHost -Local -Verbose", true)]
        public void Host_probe_lines_appear_when_verbose_is_wanted(string script, bool expected)
        {
            using var ps = new PsSession();
            var r = ps.Run(script + "; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Equal(expected, r.Verbose.Any(v => v.Message.Contains("accelerator")));
            // The commands the engine runs follow the same switch (the probe is the first).
            Assert.Equal(expected, r.Verbose.Any(v => v.Message.StartsWith("local: echo \"arch=")));
        }
    }
}
