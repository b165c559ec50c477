using System.Linq;
using Xunit;
using OpenBsdBuild.Images.Installer;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>The set files an answer installs, as install.sub's select_sets() works them out.</summary>
    public sealed class InstallSetSelectionTests
    {
        // The files of a release directory's SHA256 (arm64 7.8): sets, kernels, images and the rest.
        private static readonly string[] Release =
        {
            "BUILDINFO", "INSTALL.arm64", "SHA256", "base78.tgz", "bsd", "bsd.mp", "bsd.rd", "comp78.tgz", "game78.tgz", "install78.img",
            "man78.tgz", "miniroot78.img", "xbase78.tgz", "xfont78.tgz", "xserv78.tgz", "xshare78.tgz",
        };

        private static string Resolve(int cpus, params string[] answers) => string.Join(" ", InstallSetSelection.Resolve(answers, Release, "78", cpus));

        [Fact]
        public void The_default_answer_drops_x_and_games_and_keeps_install_order()
        {
            Assert.Equal("bsd bsd.mp bsd.rd base78.tgz comp78.tgz man78.tgz", Resolve(2, "-x* -game*"));
            // One CPU: bsd.mp is not among the sets at all (ALLSETS has it only when NCPU > 1).
            Assert.Equal("bsd bsd.rd base78.tgz comp78.tgz man78.tgz", Resolve(1, "-x* -game*", "done"));
            Assert.Equal("bsd bsd.rd base78.tgz comp78.tgz man78.tgz", Resolve(1, "-x* -game* +bsd.mp"));
        }

        [Fact]
        public void Words_apply_in_order_across_answers_until_done_or_abort()
        {
            Assert.Equal("bsd bsd.mp bsd.rd base78.tgz comp78.tgz man78.tgz game78.tgz xbase78.tgz xshare78.tgz xfont78.tgz xserv78.tgz", Resolve(2));
            Assert.Equal("bsd bsd.rd base78.tgz", Resolve(2, "-all", "bsd bsd.rd base*"));
            Assert.Equal("bsd bsd.mp bsd.rd base78.tgz comp78.tgz man78.tgz xbase78.tgz", Resolve(2, "-x*", "xbase78.tgz -game78.tgz"));
            // Words after done are never read; abort selects nothing.
            Assert.Equal("bsd bsd.mp bsd.rd base78.tgz comp78.tgz man78.tgz game78.tgz xbase78.tgz xshare78.tgz xfont78.tgz xserv78.tgz", Resolve(2, "done -all"));
            Assert.Equal("", Resolve(2, "-x*", "abort"));
            // Globs: ?, [...] and [!...]; names not offered never appear.
            Assert.Equal("bsd bsd.mp bsd.rd base78.tgz comp78.tgz man78.tgz", Resolve(2, "-x[sbf]* -xserv?8.tgz -game*"));
            Assert.Equal("bsd base78.tgz", Resolve(2, "-all bsd [!c]ase78.tgz install78.img"));
        }

        [Fact]
        public void Only_sets_the_location_holds_are_offered()
        {
            var few = new[] { "bsd", "bsd.rd", "base78.tgz", "site78.tgz" };
            // A site set is offered when present, but only selected when asked for.
            Assert.Equal(new[] { "bsd", "bsd.rd", "base78.tgz" }, InstallSetSelection.Resolve(new[] { "done" }, few, "78", 4));
            Assert.Equal(new[] { "bsd", "bsd.rd", "base78.tgz", "site78.tgz" }, InstallSetSelection.Resolve(new[] { "site*" }, few, "78", 4).ToArray());
        }
    }
}
