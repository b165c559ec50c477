using System;
using System.IO;
using System.Management.Automation;
using System.Threading.Tasks;
using OpenBsdBuild.Guest;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Guest
{
    /// <summary>
    /// An image without a metadata sidecar says what it is for through its UEFI boot loader (EFI/BOOT/BOOTAA64.EFI or
    /// BOOTX64.EFI in its EFI system partition), read through qemu-img on the host; no guest is booted here.
    /// </summary>
    public class ImageArchitectureTests : IDisposable
    {
        private readonly string _dir = Directory.CreateTempSubdirectory("obb-imgarch-").FullName;

        public void Dispose() => Directory.Delete(_dir, true);

        /// <summary>A disk whose FAT partition at 1 MB (as OpenBSD/arm64's installer lays it out) holds EFI/BOOT/<paramref name="loader"/>, as a compressed qcow2.</summary>
        private string DiskWithLoader(string loader)
        {
            Tools.Require("mkfs.vfat", "mmd", "mcopy", "qemu-img");
            string esp = Path.Combine(_dir, "esp.img"), raw = Path.Combine(_dir, "disk.raw"), image = Path.Combine(_dir, $"{loader}.qcow2");
            Tools.Sh($"rm -f {esp} && mkfs.vfat -C {esp} 16384 >/dev/null && mmd -i {esp} ::/EFI ::/EFI/BOOT && " +
                     $"head -c 4096 /dev/urandom > {_dir}/loader && mcopy -i {esp} {_dir}/loader ::/EFI/BOOT/{loader} && " +
                     $"truncate -s 32M {raw} && dd if={esp} of={raw} bs=1M seek=1 conv=notrunc status=none && " +
                     $"qemu-img convert -c -f raw -O qcow2 {raw} {image}");
            return image;
        }

        [Fact]
        public async Task The_test_guest_without_its_sidecar_is_read_as_arm64()
        {
            var image = TestGuestImage.Get();
            var info = await GuestImageInfo.InspectAsync(new LocalShell(), "qemu-img", image.PathWithoutMetadata, default);
            Assert.Null(info.Metadata);
            Assert.Equal("arm64", info.BootLoaderArchitecture);
        }

        [Theory]
        [InlineData("BOOTX64.EFI", "amd64")]
        [InlineData("BOOTAA64.EFI", "arm64")]
        public async Task A_compressed_qcow2_says_its_architecture_through_its_loader(string loader, string architecture)
        {
            var info = await GuestImageInfo.InspectAsync(new LocalShell(), "qemu-img", DiskWithLoader(loader), default);
            Assert.Equal(architecture, info.BootLoaderArchitecture);
        }

        [Fact]
        public async Task A_blank_disk_says_nothing()
        {
            Tools.Sh($"qemu-img create -q -f raw {_dir}/blank.img 64M");
            var info = await GuestImageInfo.InspectAsync(new LocalShell(), "qemu-img", $"{_dir}/blank.img", default);
            Assert.Null(info.BootLoaderArchitecture);
        }

        [Fact]
        public void Start_OpenBsdGuest_takes_the_architecture_from_an_arm64_image_without_metadata_on_an_x86_host()
        {
            Assert.Equal("x86_64", Tools.Sh("uname -m").Trim()); // the case: the host's own architecture would be wrong
            using var ps = new PsSession();
            // Missing firmware stops it before QEMU starts; the message says which architecture was chosen.
            var r = ps.Run($"Connect-MetalHost -Local -StateDirectory '{_dir}/state' | Start-OpenBsdGuest -Image '{TestGuestImage.Get().PathWithoutMetadata}' " +
                           $"-KeyFile '{TestGuestImage.Get().KeyFile}' -TrustHostKey -FirmwareCode /nonexistent/CODE.fd -FirmwareVars /nonexistent/VARS.fd");
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.FirmwareNotFound,", e!.FullyQualifiedErrorId);
            Assert.Contains("for arm64 guests", e.Exception.Message);
        }

        [Fact]
        public void An_image_that_says_nothing_gets_the_hosts_architecture_and_an_error_that_names_Architecture()
        {
            Tools.Sh($"qemu-img create -q -f raw {_dir}/blank.img 64M");
            using var ps = new PsSession();
            var r = ps.Run($"Connect-MetalHost -Local -StateDirectory '{_dir}/state' | Start-OpenBsdGuest -Image '{_dir}/blank.img' -KeyFile '{TestGuestImage.Get().KeyFile}' " +
                           "-TrustHostKey -FirmwareCode /nonexistent/CODE.fd -FirmwareVars /nonexistent/VARS.fd -Verbose");
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.FirmwareNotFound,", e!.FullyQualifiedErrorId);
            Assert.Contains("no metadata sidecar and no UEFI boot loader", e.Exception.Message);
            Assert.StartsWith("Pass -Architecture arm64 or -Architecture amd64", e.ErrorDetails.RecommendedAction);
            Assert.Equal($"{_dir}/blank.img", e.TargetObject);
            Assert.Contains(r.Verbose, v => v.Message.Contains("assuming it is for this host's architecture"));
        }
    }
}
