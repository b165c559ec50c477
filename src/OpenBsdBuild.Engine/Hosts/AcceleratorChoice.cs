using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Hosts
{
    /// <summary>
    /// Which accelerator a guest gets, and what the user hears when it is not KVM. Software
    /// emulation is about ten times slower, so installer and boot timeouts trip and builds crawl:
    /// on EC2 metal, which always has KVM, falling back to it is an error unless asked for; on other
    /// hosts it is a warning whenever the host has a /dev/kvm it cannot use (docs/host-notes.md).
    /// </summary>
    public static class AcceleratorChoice
    {
        public const string TcgConsequence =
            "runs under TCG, software emulation about ten times slower than KVM: installs, boots and builds take far longer and can run past their timeouts";

        /// <param name="requested">-Accelerator, or null to choose.</param>
        /// <param name="what">What runs, for messages ("guest obsd-1a2b3c").</param>
        /// <param name="canAskForTcg">False where the caller offers no -Accelerator: then an EC2 host only warns.</param>
        public static string For(MetalHost host, string architecture, string? requested, string what, IOperationReporter reporter, bool canAskForTcg = true)
        {
            var caps = host.Capabilities;
            if (requested != null)
            {
                if (requested == "kvm" && caps.NativeAccelerator != "kvm" && architecture == host.Architecture)
                    throw new OpenBsdBuildException("KvmUnavailable", FailureKind.ResourceUnavailable,
                        $"-Accelerator kvm was asked for, but {host.Name} cannot use KVM: {caps.KvmProblem}.", host,
                        "Fix KVM access on the host as the message says, or leave -Accelerator out.");
                return requested;
            }
            // A hypervisor only runs guests of the host's own architecture.
            if (architecture != host.Architecture)
            {
                reporter.Verbose($"{what}: an {architecture} guest on an {host.Architecture} host {TcgConsequence}.");
                return "tcg";
            }
            if (caps.NativeAccelerator != "tcg") return caps.NativeAccelerator;

            if (host.Provider == HostProvider.Ec2 && canAskForTcg)
                throw new OpenBsdBuildException("KvmUnavailable", FailureKind.ResourceUnavailable,
                    $"{host.Name} is EC2 metal but cannot use KVM ({caps.KvmProblem}), so {what} {TcgConsequence}.", host,
                    "Fix KVM access on the host as the message says and attach it again, or pass -Accelerator tcg to run emulated on purpose.");
            string message = $"{host.Name}: {caps.KvmProblem}. So {what} {TcgConsequence}.";
            if (caps.Kvm == KvmState.Absent && host.Provider != HostProvider.Ec2)
                reporter.Verbose(message);
            else
                reporter.Warning(message + (canAskForTcg ? " Pass -Accelerator tcg to choose this explicitly." : ""));
            return "tcg";
        }
    }
}
