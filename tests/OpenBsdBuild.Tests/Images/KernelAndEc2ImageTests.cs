using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using Xunit;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Images;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>
    /// New-OpenBsdImage -Kernel and -Target Ec2 through the parts that run without a guest: the kernel
    /// check (ELF header against the image's architecture), the first-boot script that installs both, and
    /// the agent as rendered. The whole path with a booted guest and an IMDSv2 emulator is Ec2AgentTests.
    /// </summary>
    public sealed class KernelAndEc2ImageTests : IDisposable
    {
        private const string BuildKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl build@test";
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-kernel-").FullName;
        private readonly PsSession _ps = new PsSession();

        public KernelAndEc2ImageTests()
        {
            var r = _ps.Run($"$local = Connect-MetalHost -Local -StateDirectory '{Path.Combine(_dir, "state")}'");
            Assert.False(r.HadErrors, r.Describe());
        }

        public void Dispose()
        {
            _ps.Run("$local | Remove-MetalHost");
            _ps.Dispose();
            Directory.Delete(_dir, recursive: true);
        }

        private string Output => Path.Combine(_dir, "out", "openbsd-7.8-arm64.qcow2");

        private PsResult New(string args) =>
            _ps.Run($"$local | New-OpenBsdImage -Version 7.8 -InstallMedia '{Path.Combine(_dir, "install78.img")}' -BuildUserKey '{BuildKey}' -Output '{Output}' {args}");

        private static ErrorRecord Refused(PsResult r, string id, ErrorCategory category, string target)
        {
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith($"OpenBsdBuild.{id},", e!.FullyQualifiedErrorId);
            Assert.Equal(category, e.CategoryInfo.Category);
            Assert.Equal(target, e.TargetObject);
            Assert.False(string.IsNullOrEmpty(e.ErrorDetails?.RecommendedAction));
            Assert.Empty(r.Output);
            return e;
        }

        [Fact]
        public void A_kernel_that_is_missing_or_not_for_the_architecture_is_refused_before_anything_starts()
        {
            string missing = Path.Combine(_dir, "nope", "bsd");
            Refused(New($"-Kernel '{missing}'"), "KernelNotFound", ErrorCategory.ObjectNotFound, missing);

            string amd64 = FakeKernel.Write(Path.Combine(_dir, "bsd.amd64"), FakeKernel.Amd64);
            var wrongArch = Refused(New($"-Kernel '{amd64}'"), "InvalidParameter.Kernel", ErrorCategory.InvalidArgument, amd64);
            Assert.Contains("built for amd64 (x86-64), but the image is arm64", wrongArch.Exception.Message);
            // The same file is right for an amd64 image: the check gets past the kernel (and stops at the missing media).
            var amd64Image = New($"-Kernel '{amd64}' -Architecture amd64");
            Assert.DoesNotContain("Kernel", amd64Image.FirstError?.FullyQualifiedErrorId ?? "");

            string text = Path.Combine(_dir, "bsd.txt");
            File.WriteAllText(text, "not a kernel at all, just some words");
            Assert.Contains("neither an ELF executable nor gzip-compressed", Refused(New($"-Kernel '{text}'"), "InvalidParameter.Kernel", ErrorCategory.InvalidArgument, text).Exception.Message);

            string module = FakeKernel.Write(Path.Combine(_dir, "bsd.o"), FakeKernel.Arm64, elfType: 1);
            Assert.Contains("not a linked kernel", Refused(New($"-Kernel '{module}'"), "InvalidParameter.Kernel", ErrorCategory.InvalidArgument, module).Exception.Message);

            // -WhatIf checks the input as well.
            Refused(New($"-Kernel '{amd64}' -WhatIf"), "InvalidParameter.Kernel", ErrorCategory.InvalidArgument, amd64);
            var target = New("-Target Azure").FirstError;
            Assert.StartsWith("ParameterArgumentValidationError,", target?.FullyQualifiedErrorId);
        }

        [Fact]
        public void The_first_boot_script_installs_the_kernel_keeps_the_original_and_stops_the_relink()
        {
            string bsd = FakeKernel.Write(Path.Combine(_dir, "bsd"), FakeKernel.Arm64);
            var request = new ImageBuildRequest
            {
                Version = "7.8", Mirror = new Uri("https://cdn.openbsd.org/pub/OpenBSD/"), BuildUserKey = BuildKey, Output = Output, Kernel = bsd,
            };
            request.Validate();
            string sha = OpenBsdBuild.Builds.Checksums.Sha256File(bsd);
            Assert.Equal(sha, request.InspectKernel()!.Sha256);
            // Images/first-boot.sh with this request's inputs (what the script does with them is in the file).
            string script = FirstBootScript.Render(request, request.EffectivePackagePath());
            Assert.Contains($"\nKERNEL_SHA256={sha}\n", script);
            Assert.Contains("\nSTAGED_KERNEL=/bsd.openbsdbuild\n", script);
            Assert.Contains("while pgrep -f /usr/libexec/reorder_kernel >/dev/null; do sleep 2; done", script);
            Assert.Contains("[ \"$(sha256 -q \"$STAGED_KERNEL\")\" = \"$KERNEL_SHA256\" ]", script);
            Assert.Contains("[ -e /bsd.orig ] || mv /bsd /bsd.orig", script);
            Assert.Contains("  mv -f \"$STAGED_KERNEL\" /bsd\n  chown root:wheel /bsd\n  chmod 700 /bsd\n", script);
            Assert.Contains("sed -i 's|^/usr/libexec/reorder_kernel &|# & (disabled by New-OpenBsdImage -Kernel", script);
            // Library reordering is not the kernel's business: only -SkipRelink turns it off.
            Assert.Contains("\nSKIP_RELINK=no\n", script);
            // Not an EC2 image: no agent, and the host keys stay (the metadata pins them).
            Assert.Contains("\nEC2_AGENT=no\n", script);
            Assert.Contains("\nKERNEL_SHA256=''\n", FirstBootScript.Render(new ImageBuildRequest { BuildUserKey = BuildKey }, "/p"));
        }

        [Fact]
        public void An_ec2_image_gets_the_agent_from_rc_local_and_ships_no_host_keys()
        {
            var request = new ImageBuildRequest
            {
                Version = "7.8", Mirror = new Uri("https://cdn.openbsd.org/pub/OpenBSD/"), BuildUserKey = BuildKey, Output = Output, Target = ImageTargets.Ec2,
            };
            request.Validate();
            string script = FirstBootScript.Render(request, request.EffectivePackagePath());
            Assert.Contains("\nEC2_AGENT=yes\n", script);
            Assert.Contains("\nSTAGED_AGENT=/root/openbsdbuild-agent\n", script);
            Assert.Contains("\nAGENT_PATH=/usr/local/libexec/openbsdbuild-agent\n", script);
            Assert.Contains("  mv -f \"$STAGED_AGENT\" \"$AGENT_PATH\"\n  chown root:bin \"$AGENT_PATH\"\n  chmod 555 \"$AGENT_PATH\"\n", script);
            Assert.Contains("echo \"$AGENT_PATH\" >> /etc/rc.local", script);
            int keysListed = script.IndexOf("ssh-keygen -lf", StringComparison.Ordinal);
            int keysRemoved = script.IndexOf("rm -f /etc/ssh/ssh_host_*key /etc/ssh/ssh_host_*key.pub", StringComparison.Ordinal);
            Assert.True(keysListed >= 0 && keysRemoved > keysListed, script);

            request.Target = "azure";
            var e = Assert.Throws<OpenBsdBuild.Errors.OpenBsdBuildException>(() => request.Validate());
            Assert.Equal("InvalidParameter.Target", e.ErrorId);
        }

        [Fact]
        public void The_agent_is_the_script_file_with_the_build_user_filled_in_quoted()
        {
            string agent = Ec2Agent.Render("builder");
            Assert.StartsWith("#!/bin/ksh\n", agent);
            Assert.Contains("\nBUILD_USER=builder\n", agent);
            Assert.DoesNotContain("@BUILD_USER@", agent);
            Assert.Contains("http://169.254.169.254", agent);
            Assert.Contains("X-aws-ec2-metadata-token-ttl-seconds", agent);
            Assert.Contains(OpenBsdBuild.Cloud.Ec2.ConsoleFingerprints.Begin, agent);
            Assert.Contains(OpenBsdBuild.Cloud.Ec2.ConsoleFingerprints.End, agent);
            // A name that needs quoting stays one word (names are validated before this; the quoting is the second guard).
            Assert.Contains("\nBUILD_USER='o'\\''brien'\n", Ec2Agent.Render("o'brien"));

            Assert.Equal("# openbsdbuild: self-destruct-minutes=120", Ec2Agent.SelfDestructLine(TimeSpan.FromHours(2)));
            Assert.Equal("# openbsdbuild: self-destruct-minutes=2", Ec2Agent.SelfDestructLine(TimeSpan.FromSeconds(61)));
            Assert.Throws<ArgumentOutOfRangeException>(() => Ec2Agent.SelfDestructLine(TimeSpan.FromSeconds(30)));
        }
    }

    /// <summary>A file that starts like a linked kernel: an ELF64 little-endian header for the given machine, then filler.</summary>
    internal static class FakeKernel
    {
        public const ushort Arm64 = 183;
        public const ushort Amd64 = 62;

        public static string Write(string path, ushort machine, ushort elfType = 2, int size = 4096)
        {
            var bytes = new byte[size];
            new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1 }.CopyTo(bytes, 0);
            bytes[16] = (byte)elfType;
            bytes[18] = (byte)(machine & 0xff);
            bytes[19] = (byte)(machine >> 8);
            for (int i = 64; i < size; i++) bytes[i] = (byte)(i * 7 + machine);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            return path;
        }
    }
}
