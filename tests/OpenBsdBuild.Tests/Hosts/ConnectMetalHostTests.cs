using System.IO;
using System.Linq;
using System.Management.Automation;
using Xunit;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Hosts
{
    public class ConnectMetalHostTests
    {
        [Fact]
        public void Local_host_reports_this_machine_and_only_claims_kvm_when_it_works()
        {
            using var ps = new PsSession();
            var r = ps.Run("$h = Connect-MetalHost -Local -Verbose; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe());
            var host = r.Single<MetalHost>();
            Assert.Equal(HostProvider.Local, host.Provider);
            Assert.Equal(System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "arm64" : "amd64", host.Architecture);

            bool kvmNode = File.Exists("/dev/kvm");
            bool virtFlag = File.ReadAllText("/proc/cpuinfo").Split(' ', '\t', '\n').Any(w => w == "vmx" || w == "svm");
            bool kvmUsable = kvmNode && (host.Architecture == "arm64" || virtFlag);
            Assert.Equal(kvmUsable ? "kvm" : "tcg", host.Accelerator);
            if (!kvmUsable) Assert.NotNull(host.Capabilities.KvmProblem);
            Assert.Contains(r.Verbose, v => v.Message.Contains("accelerator"));
            Assert.Equal(HostState.Removed, host.State);
        }

        [Theory]
        [InlineData("$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile /etc/hostname", "StartOpenBsdGuestCommand")]
        [InlineData("$h | Invoke-OpenBsdBuild -Image /x.qcow2 -KeyFile /etc/hostname -Command true", "InvokeOpenBsdBuildCommand")]
        public void A_removed_host_starts_no_guest(string script, string command)
        {
            using var ps = new PsSession();
            var r = ps.Run("$h = Connect-MetalHost -Local; $h | Remove-MetalHost; " + script);
            var error = r.FirstError!;
            Assert.True(error != null, r.Describe());
            Assert.Equal($"OpenBsdBuild.HostRemoved,OpenBsdBuild.Commands.{command}", error!.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidOperation, error.CategoryInfo.Category);
            Assert.IsType<MetalHost>(error.TargetObject);
            Assert.Contains("Attach or create a host again", error.ErrorDetails.RecommendedAction);
        }

        [Fact]
        public void Ssh_host_without_fingerprint_or_explicit_trust_is_refused_before_connecting()
        {
            using var ps = new PsSession();
            string key = Path.GetTempFileName();
            var r = ps.Run($"Connect-MetalHost -HostName 192.0.2.1 -User root -KeyFile '{key}'");
            var error = r.FirstError!;
            Assert.Equal("OpenBsdBuild.HostKeyRequired,OpenBsdBuild.Commands.ConnectMetalHostCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.SecurityError, error.CategoryInfo.Category);
            Assert.Equal("192.0.2.1", error.TargetObject);
            Assert.Contains("-TrustHostKey", error.ErrorDetails.RecommendedAction);
            Assert.Empty(r.Output);
            File.Delete(key);
        }

        [Theory]
        [InlineData("-HostKeyFingerprint 'MD5:aa:bb'", "InvalidParameter.HostKeyFingerprint")]
        [InlineData("-TrustHostKey -KeyFile '/nonexistent/key'", "InvalidParameter.KeyFile")]
        public void Bad_parameters_name_the_parameter_and_the_fix(string args, string id)
        {
            using var ps = new PsSession();
            string keyArg = args.Contains("-KeyFile") ? "" : "-KeyFile '/etc/hostname'";
            var r = ps.Run($"Connect-MetalHost -HostName 192.0.2.1 {keyArg} {args}");
            var error = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild." + id + ",", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.False(string.IsNullOrEmpty(error.ErrorDetails.RecommendedAction));
        }
    }
}
