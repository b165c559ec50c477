using System.Text.RegularExpressions;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>Where the installer reads the sets from ("Location of sets?").</summary>
    public abstract class InstallSetsSource
    {
        /// <summary>The word typed at "Location of sets?".</summary>
        public abstract string LocationAnswer { get; }

        internal abstract void Validate();
    }

    /// <summary>
    /// Sets on a disk that is not mounted yet, e.g. installNN.img attached as a second disk.
    /// install.sub install_disk()/mount_mnt2() ask for the disk, the partition when it has
    /// several filesystems, then the path.
    /// </summary>
    public sealed class DiskSetsSource : InstallSetsSource
    {
        public override string LocationAnswer => "disk";

        /// <summary>Disk holding the sets ("Which disk contains the install media?").</summary>
        public string Disk { get; set; } = "sd0";

        /// <summary>Partition letter, asked only when the disk has several filesystems; null takes the default.</summary>
        public string? Partition { get; set; } = "a";

        /// <summary>Directory of the sets on that partition, e.g. "7.6/arm64"; null takes the installer's default.</summary>
        public string? Pathname { get; set; }

        internal override void Validate()
        {
            InstallOptions.ValidateDiskName("SetsDisk", Disk);
            if (Partition != null && !Regex.IsMatch(Partition, "^[a-p]$"))
                throw OpenBsdBuildException.BadParameter("SetsPartition", Partition, "is not a partition letter.", "Use a letter a-p, usually 'a'.");
            if (Pathname != null && !Regex.IsMatch(Pathname, @"^[^\s=']+$"))
                throw OpenBsdBuildException.BadParameter("SetsPath", Pathname, "is not a usable path.", "Use a path such as '7.6/arm64'.");
        }
    }

    /// <summary>Sets served over HTTP (a mirror, or a local server the guest reaches at 10.0.2.2).</summary>
    public sealed class HttpSetsSource : InstallSetsSource
    {
        public override string LocationAnswer => "http";

        /// <summary>Host[:port], optionally with http:// or https:// (a bare host tries HTTPS first, docs/openbsd-notes.md).</summary>
        public string Server { get; set; } = "";

        /// <summary>Directory on the server, e.g. "pub/OpenBSD/7.6/arm64"; null takes the installer's default.</summary>
        public string? Directory { get; set; }

        /// <summary>Proxy URL, or null for none.</summary>
        public string? Proxy { get; set; }

        internal override void Validate()
        {
            // The pattern install.sub install_http() accepts for the server answer.
            if (!Regex.IsMatch(Server ?? "", @"^(https?://)?[A-Za-z0-9:.\[\]_-]+$"))
                throw OpenBsdBuildException.BadParameter("SetsServer", Server, "is not a host name the installer accepts.",
                    "Use a host[:port], e.g. 'cdn.openbsd.org' or 'http://10.0.2.2:8000'.");
            if (Directory != null && !Regex.IsMatch(Directory, @"^[^\s=']+$"))
                throw OpenBsdBuildException.BadParameter("SetsPath", Directory, "is not a usable directory.", "Use a path such as 'pub/OpenBSD/7.6/arm64'.");
            if (Proxy != null && !Regex.IsMatch(Proxy, @"^https?://\S+$"))
                throw OpenBsdBuildException.BadParameter("SetsProxy", Proxy, "is not a proxy URL.", "Use e.g. 'http://proxy:8080'.");
        }
    }
}
