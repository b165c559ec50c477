using System;
using System.IO;
using OpenBsdBuild.Errors;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// A kernel the user wants as the image's /bsd (New-OpenBsdImage -Kernel): checked on this machine
    /// before anything boots. OpenBSD's arm64 and amd64 kernels are ELF64 executables (what efiboot and
    /// the amd64 boot loader load); their ELF header says which machine they are for, so a kernel of the
    /// other architecture is refused here rather than at the instance's first boot. A gzip-compressed
    /// kernel (the boot loaders read those too) cannot be checked that cheaply and is taken as is.
    /// </summary>
    public sealed class KernelFile
    {
        // ELF e_machine values (System V gABI): EM_X86_64 = 62, EM_AARCH64 = 183.
        private const ushort MachineAmd64 = 62;
        private const ushort MachineArm64 = 183;
        private const ushort TypeExecutable = 2;

        private KernelFile(string path, string sha256, long size, bool compressed)
        {
            Path = path;
            Sha256 = sha256;
            Size = size;
            Compressed = compressed;
        }

        public string Path { get; }
        /// <summary>Lower-case hex SHA-256: what the metadata records and the guest checks after the upload.</summary>
        public string Sha256 { get; }
        public long Size { get; }
        public bool Compressed { get; }

        /// <summary>Checks <paramref name="path"/> is a kernel for <paramref name="architecture"/>; throws a parameter error otherwise.</summary>
        public static KernelFile Inspect(string path, string architecture)
        {
            if (!File.Exists(path))
                throw new OpenBsdBuildException("KernelNotFound", FailureKind.ObjectNotFound, $"-Kernel '{path}': no such file.", path,
                    "Pass the path of the kernel to install as /bsd, e.g. -Kernel ./obj/bsd (a GENERIC.MP built with ena(4)).");
            var header = new byte[20];
            long size;
            int read;
            using (var file = File.OpenRead(path))
            {
                size = file.Length;
                read = file.Read(header, 0, header.Length);
                while (read < header.Length)
                {
                    int more = file.Read(header, read, header.Length - read);
                    if (more == 0) break;
                    read += more;
                }
            }
            bool gzip = read >= 2 && header[0] == 0x1f && header[1] == 0x8b;
            if (!gzip) CheckElf(path, architecture, header, read);
            return new KernelFile(path, Builds.Checksums.Sha256File(path), size, gzip);
        }

        private static void CheckElf(string path, string architecture, byte[] h, int read)
        {
            string fix = $"Pass an OpenBSD/{architecture} kernel (the 'bsd' a kernel build leaves in its compile directory), or a matching -Architecture.";
            if (read < 20 || h[0] != 0x7f || h[1] != (byte)'E' || h[2] != (byte)'L' || h[3] != (byte)'F')
                throw OpenBsdBuildException.BadParameter("Kernel", path, "is not a kernel: it is neither an ELF executable nor gzip-compressed.", fix);
            // EI_CLASS 2 = 64-bit, EI_DATA 1 = little-endian: both architectures' kernels are.
            if (h[4] != 2 || h[5] != 1)
                throw OpenBsdBuildException.BadParameter("Kernel", path, "is a 32-bit or big-endian ELF file, not an OpenBSD arm64 or amd64 kernel.", fix);
            ushort type = (ushort)(h[16] | h[17] << 8);
            ushort machine = (ushort)(h[18] | h[19] << 8);
            ushort expected = architecture == "amd64" ? MachineAmd64 : MachineArm64;
            if (machine != expected)
                throw OpenBsdBuildException.BadParameter("Kernel", path,
                    $"is built for {MachineName(machine)}, but the image is {architecture}.", fix);
            if (type != TypeExecutable)
                throw OpenBsdBuildException.BadParameter("Kernel", path,
                    "is an ELF object or shared library, not a linked kernel (ELF type EXEC).", fix);
        }

        private static string MachineName(ushort machine) => machine switch
        {
            MachineAmd64 => "amd64 (x86-64)",
            MachineArm64 => "arm64 (AArch64)",
            3 => "i386",
            40 => "32-bit ARM",
            243 => "RISC-V",
            _ => $"ELF machine {machine}",
        };
    }
}
