using System;
using System.Globalization;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// The first-boot agent of an EC2 image (New-OpenBsdImage -Target Ec2): a ksh script kept in the source
    /// tree (Images/Scripts/openbsdbuild-agent.ksh, embedded), installed into the image and run from
    /// /etc/rc.local on every boot. What it does and the contract other parts rely on (console markers,
    /// user data, self-destruct) is in docs/golden-images.md.
    /// </summary>
    public static class Ec2Agent
    {
        /// <summary>Where the image keeps the agent.</summary>
        public const string InstallPath = "/usr/local/libexec/openbsdbuild-agent";
        /// <summary>Its per-instance state: instance-id, user-data, user-data.done, user-data.log.</summary>
        public const string StateDirectory = "/var/db/openbsdbuild-agent";
        /// <summary>What the agent prints on the console before it does anything else, once per boot.</summary>
        public const string ConsolePrefix = "openbsdbuild-agent: ";

        /// <summary>The agent for an image whose build user is <paramref name="buildUser"/> (already validated as a login name).</summary>
        public static string Render(string buildUser) =>
            ShellTemplate.Load("openbsdbuild-agent.ksh").RenderFile(new ShellInputs().Set("BUILD_USER", buildUser));

        /// <summary>
        /// The user-data line that makes the agent arm <c>shutdown -p +N</c> at the instance's first boot
        /// (a comment, so it can go anywhere in a user-data script); whole minutes, rounded up.
        /// </summary>
        public static string SelfDestructLine(TimeSpan after)
        {
            if (after < TimeSpan.FromMinutes(1)) throw new ArgumentOutOfRangeException(nameof(after), "The self-destruct needs at least one minute.");
            return "# openbsdbuild: self-destruct-minutes=" + ((long)Math.Ceiling(after.TotalMinutes)).ToString(CultureInfo.InvariantCulture);
        }
    }
}
