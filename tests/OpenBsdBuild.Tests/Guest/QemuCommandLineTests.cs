using System.Linq;
using Xunit;
using OpenBsdBuild.Guest;

namespace OpenBsdBuild.Tests.Guest
{
    public class QemuCommandLineTests
    {
        private static GuestLaunchSpec Spec(string accel = "tcg", bool msix = false) => new GuestLaunchSpec
        {
            Name = "g1", Architecture = "arm64", Accelerator = accel, MemoryMB = 1024, CpuCount = 2,
            QemuBinary = "/usr/bin/qemu-system-aarch64", FirmwareCode = "/fw/CODE.fd", FirmwareVars = "/st/vars.fd",
            DiskPath = "/st/disk.qcow2", SshPort = 2222, SerialLogPath = "/st/serial.log", QmpSocketPath = "/st/qmp.sock",
            PidFile = "/st/qemu.pid", MsiX = msix,
        };

        [Fact]
        public void Arm64_guest_gets_virtio_pci_with_intx_uefi_pflash_and_loopback_only_forward()
        {
            var args = QemuCommandLine.Build(Spec());
            string line = string.Join(" ", args);
            Assert.Contains("-machine virt,gic-version=3", line);
            Assert.Contains("if=pflash,format=raw,readonly=on,file=/fw/CODE.fd", line);
            Assert.Contains("if=pflash,format=raw,file=/st/vars.fd", line);
            Assert.Contains("virtio-blk-pci,drive=disk0,vectors=0", line);
            Assert.Contains("virtio-net-pci,netdev=net0,vectors=0", line);
            Assert.Contains("hostfwd=tcp:127.0.0.1:2222-:22", line);
            Assert.DoesNotContain("virtio-blk-device", line);
            Assert.Contains("-qmp unix:/st/qmp.sock,server=on,wait=off", line);
            Assert.Contains("path=/st/serial.log", line);
            Assert.Contains("-daemonize", args);
        }

        [Fact]
        public void An_install_attaches_the_media_first_serves_the_console_on_loopback_and_exits_instead_of_rebooting()
        {
            var spec = Spec();
            spec.InstallMediaPath = "/st/install78.img";
            spec.SerialPort = 40123;
            spec.NoReboot = true;
            var args = QemuCommandLine.Build(spec).ToList();
            string line = string.Join(" ", args);
            // The media must come first on the bus, so the installer calls it sd0 and the target sd1.
            int media = args.IndexOf("virtio-blk-pci,drive=media0,vectors=0");
            int disk = args.IndexOf("virtio-blk-pci,drive=disk0,vectors=0");
            Assert.True(media >= 0 && disk > media, line);
            Assert.Contains("if=none,id=media0,format=raw,snapshot=on,file=/st/install78.img", line);
            Assert.Contains("socket,id=serial0,host=127.0.0.1,port=40123,server=on,wait=off,logfile=/st/serial.log", line);
            Assert.Contains("-no-reboot", args);

            var normal = string.Join(" ", QemuCommandLine.Build(Spec()));
            Assert.DoesNotContain("media0", normal);
            Assert.DoesNotContain("-no-reboot", normal);
        }

        [Fact]
        public void Emulation_avoids_pointer_authentication_and_kvm_uses_the_host_cpu()
        {
            string Cpu(string accel) => QemuCommandLine.Build(Spec(accel)).SkipWhile(a => a != "-cpu").Skip(1).First();
            Assert.Equal("cortex-a72", Cpu("tcg"));
            Assert.Equal("host", Cpu("kvm"));
        }

        [Fact]
        public void MsiX_switch_drops_vectors_0()
        {
            string line = string.Join(" ", QemuCommandLine.Build(Spec(msix: true)));
            Assert.DoesNotContain("vectors=0", line);
        }
    }
}
