using System;
using System.IO;
using System.Linq;
using Xunit;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Build
{
    /// <summary>
    /// Where Invoke-GuestBuild works by default: the build user's directory on /usr/obj, which New-OpenBsdImage
    /// makes (a fresh OpenBSD leaves /usr/obj to root); without it, the home directory and a warning that says
    /// what that costs. Against the shared test guest, whose /usr/obj/openbsdbuild belongs to build.
    /// </summary>
    [Collection(SharedGuestCollection.Name)]
    public class WorkingDirectoryTests : IDisposable
    {
        private readonly PsSession _ps;
        private readonly string _dest = Directory.CreateTempSubdirectory("obb-workdir-").FullName;

        public WorkingDirectoryTests(SharedGuest shared) => _ps = shared.NewSession();

        public void Dispose()
        {
            _ps.Dispose();
            Directory.Delete(_dest, recursive: true);
        }

        private PsResult Build(string args) => _ps.Run($"$guest | Invoke-GuestBuild -Destination '{_dest}' {args}");

        private static string Line(PsResult r, string prefix) =>
            r.Information.Select(i => i.MessageData?.ToString() ?? "").FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) ?? "";

        [Fact]
        public void Builds_go_under_usr_obj_openbsdbuild_and_fall_back_to_home_with_a_warning_when_the_user_cannot_write_there()
        {
            var usual = Build("-Command 'echo pwd=$(pwd)' -MinFreeSpace 1MB");
            Assert.False(usual.HadErrors, usual.Describe());
            Assert.StartsWith("pwd=/usr/obj/openbsdbuild/", Line(usual, "pwd="));
            Assert.DoesNotContain(usual.Warnings, w => w.Message.Contains("home filesystem"));

            // As after a fresh install without New-OpenBsdImage's first boot: the directory is root's.
            var taken = Build("-User root -Command 'chown root /usr/obj/openbsdbuild && chmod 755 /usr/obj/openbsdbuild' -MinFreeSpace 1MB");
            Assert.False(taken.HadErrors, taken.Describe());
            try
            {
                var fallback = Build("-Command 'echo pwd=$(pwd)' -MinFreeSpace 1MB");
                Assert.False(fallback.HadErrors, fallback.Describe());
                Assert.StartsWith("pwd=/home/build/openbsdbuild/", Line(fallback, "pwd="));
                var warning = Assert.Single(fallback.Warnings, w => w.Message.Contains("/usr/obj/openbsdbuild"));
                Assert.Contains("home filesystem", warning.Message);
                Assert.Contains("run out of space", warning.Message);
                Assert.Contains("-WorkingDirectory", warning.Message);

                // With the cmdlet's default -MinFreeSpace (4 GB; the tests' sessions lower it) the small home
                // filesystem is refused before anything is sent.
                var refused = Build("-Command true -MinFreeSpace 4GB");
                Assert.StartsWith("OpenBsdBuild.PreflightFreeSpace,", refused.FirstError?.FullyQualifiedErrorId);
                Assert.Contains(refused.Warnings, w => w.Message.Contains("home filesystem"));
            }
            finally
            {
                Build("-User root -Command 'chown build /usr/obj/openbsdbuild' -MinFreeSpace 1MB");
            }
        }
    }
}
