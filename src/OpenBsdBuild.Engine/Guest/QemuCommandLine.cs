using System.Collections.Generic;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Guest
{
    /// <summary>
    /// The one place that knows QEMU's flags for an OpenBSD guest (docs/openbsd-notes.md):
    /// UEFI pflash, virtio-PCI devices (OpenBSD has no ACPI virtio-mmio attachment),
    /// INTx instead of MSI-X, SSH forwarded on the host's loopback only.
    /// </summary>
    public static class QemuCommandLine
    {
        public static IReadOnlyList<string> Build(GuestLaunchSpec spec)
        {
            var args = new List<string> { spec.QemuBinary, "-name", spec.Name };

            if (spec.Architecture == "arm64")
                args.AddRange(new[] { "-machine", "virt,gic-version=3" });
            else
                args.AddRange(new[] { "-machine", "q35" });

            args.AddRange(new[] { "-accel", spec.Accelerator, "-cpu", CpuModel(spec) });
            args.AddRange(new[] { "-smp", spec.CpuCount.ToString(), "-m", spec.MemoryMB.ToString() });

            // Code read-only and shared; each guest writes its own copy of the variable store.
            args.AddRange(new[] { "-drive", $"if=pflash,format=raw,readonly=on,file={spec.FirmwareCode}" });
            args.AddRange(new[] { "-drive", $"if=pflash,format=raw,file={spec.FirmwareVars}" });

            // vectors=0 forces INTx: under KVM on a1.metal MSI-X interrupts never arrive.
            string vectors = spec.MsiX ? "" : ",vectors=0";
            if (spec.InstallMediaPath != null)
            {
                // First on the bus: the installer's sd0. snapshot=on: whatever it writes is discarded.
                args.AddRange(new[] { "-drive", $"if=none,id=media0,format=raw,snapshot=on,file={spec.InstallMediaPath}" });
                args.AddRange(new[] { "-device", $"virtio-blk-pci,drive=media0{vectors}" });
            }
            args.AddRange(new[] { "-drive", $"if=none,id=disk0,format=qcow2,file={spec.DiskPath}" });
            args.AddRange(new[] { "-device", $"virtio-blk-pci,drive=disk0{vectors}" });

            // hostfwd bound to 127.0.0.1: the guest is reachable only through the host (a jump), never from the world.
            args.AddRange(new[] { "-netdev", $"user,id=net0,hostfwd=tcp:127.0.0.1:{spec.SshPort}-:22" });
            // romfile= skips the iPXE option ROM: UEFI boots from disk faster without it.
            args.AddRange(new[] { "-device", $"virtio-net-pci,netdev=net0{vectors},romfile=" });

            args.AddRange(new[] { "-display", "none", "-monitor", "none" });
            // A socket console keeps its log too; wait=off: QEMU must not block before the engine connects.
            string console = spec.SerialPort == 0
                ? $"file,id=serial0,path={spec.SerialLogPath}"
                : $"socket,id=serial0,host=127.0.0.1,port={spec.SerialPort},server=on,wait=off,logfile={spec.SerialLogPath}";
            args.AddRange(new[] { "-chardev", console, "-serial", "chardev:serial0" });
            if (spec.NoReboot) args.Add("-no-reboot");
            args.AddRange(new[] { "-qmp", $"unix:{spec.QmpSocketPath},server=on,wait=off" });
            args.AddRange(new[] { "-daemonize", "-pidfile", spec.PidFile });
            return args;
        }

        public static string Render(GuestLaunchSpec spec) => ShellQuote.Join(Build(spec));

        /// <summary>
        /// The host's own CPU under a hypervisor. Under emulation a Cortex-A72 (the a1.metal core):
        /// no pointer authentication, whose emulation triples boot time, and it scales with -smp
        /// where "max" does not (docs/openbsd-notes.md).
        /// </summary>
        internal static string CpuModel(GuestLaunchSpec spec)
        {
            if (spec.Accelerator == "kvm" || spec.Accelerator == "hvf") return "host";
            return spec.Architecture == "arm64" ? "cortex-a72" : "max";
        }
    }
}
