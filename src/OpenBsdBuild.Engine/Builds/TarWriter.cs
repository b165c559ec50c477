using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Text;

namespace OpenBsdBuild.Builds
{
    /// <summary>
    /// Writes a POSIX ustar stream (with pax headers for long names), which both OpenBSD's
    /// tar and busybox read. Hand-written because netstandard2.0 has no tar support.
    /// </summary>
    public sealed class TarWriter
    {
        private const int Block = 512;
        private readonly Stream _output;
        private readonly byte[] _buffer = new byte[1 << 16];

        public TarWriter(Stream output) => _output = output;

        public void AddDirectory(string name, DateTime modified) =>
            WriteHeader(name.TrimEnd('/') + "/", 0, '5', 0x1ED /* 0755 */, modified, null);

        public void AddSymlink(string name, string target, DateTime modified) =>
            WriteHeader(name, 0, '2', 0x1FF /* 0777 */, modified, target);

        public void AddFile(string name, string sourcePath)
        {
            var info = new FileInfo(sourcePath);
            using var source = new FileStream(sourcePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            long length = source.Length;
            WriteHeader(name, length, '0', UnixMode(sourcePath, 0x1A4 /* 0644 */), info.LastWriteTimeUtc, null);
            long left = length;
            while (left > 0)
            {
                int read = source.Read(_buffer, 0, (int)Math.Min(_buffer.Length, left));
                if (read == 0) throw new IOException($"'{sourcePath}' shrank while it was being packed.");
                _output.Write(_buffer, 0, read);
                left -= read;
            }
            Pad(length);
        }

        /// <summary>Two zero blocks end the archive.</summary>
        public void Finish() => _output.Write(new byte[Block * 2], 0, Block * 2);

        private void WriteHeader(string name, long size, char type, int mode, DateTime modified, string? linkTarget)
        {
            name = name.Replace('\\', '/');
            bool needsPax = Encoding.UTF8.GetByteCount(name) > 100 || (linkTarget != null && Encoding.UTF8.GetByteCount(linkTarget) > 100) || size > 077777777777L;
            if (needsPax)
            {
                var pax = new StringBuilder();
                pax.Append(PaxRecord("path", name));
                if (linkTarget != null) pax.Append(PaxRecord("linkpath", linkTarget));
                if (size > 077777777777L) pax.Append(PaxRecord("size", size.ToString()));
                byte[] body = Encoding.UTF8.GetBytes(pax.ToString());
                WriteRawHeader("PaxHeaders/" + Truncate(name, 80), body.Length, 'x', 0x1A4, modified, null);
                _output.Write(body, 0, body.Length);
                Pad(body.Length);
            }
            WriteRawHeader(Truncate(name, 100), size > 077777777777L ? 0 : size, type, mode, modified, linkTarget == null ? null : Truncate(linkTarget, 100));
        }

        private void WriteRawHeader(string name, long size, char type, int mode, DateTime modified, string? linkTarget)
        {
            var header = new byte[Block];
            PutString(header, 0, 100, name);
            PutOctal(header, 100, 8, mode);
            PutOctal(header, 108, 8, 0);
            PutOctal(header, 116, 8, 0);
            PutOctal(header, 124, 12, size);
            PutOctal(header, 136, 12, Math.Max(0, (long)(modified - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds));
            for (int i = 148; i < 156; i++) header[i] = (byte)' ';
            header[156] = (byte)type;
            if (linkTarget != null) PutString(header, 157, 100, linkTarget);
            PutString(header, 257, 6, "ustar");
            header[262] = 0;
            header[263] = (byte)'0';
            header[264] = (byte)'0';
            int sum = 0;
            foreach (byte b in header) sum += b;
            PutOctal(header, 148, 7, sum);
            _output.Write(header, 0, Block);
        }

        private void Pad(long length)
        {
            int rest = (int)(length % Block);
            if (rest != 0) _output.Write(new byte[Block - rest], 0, Block - rest);
        }

        private static string PaxRecord(string key, string value)
        {
            // "%d %s=%s\n" where the length counts itself.
            int body = Encoding.UTF8.GetByteCount($" {key}={value}\n");
            int length = body + 1;
            while (body + length.ToString().Length != length) length = body + length.ToString().Length;
            return $"{length} {key}={value}\n";
        }

        private static string Truncate(string value, int maxBytes)
        {
            while (Encoding.UTF8.GetByteCount(value) > maxBytes) value = value.Substring(0, value.Length - 1);
            return value;
        }

        private static void PutString(byte[] header, int offset, int length, string value)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            Array.Copy(bytes, 0, header, offset, Math.Min(bytes.Length, length));
        }

        private static void PutOctal(byte[] header, int offset, int length, long value)
        {
            string octal = Convert.ToString(value, 8).PadLeft(length - 1, '0');
            PutString(header, offset, length - 1, octal);
            header[offset + length - 1] = 0;
        }

        private static readonly MethodInfo? GetUnixFileMode =
            typeof(File).GetMethod("GetUnixFileMode", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string) }, null);

        /// <summary>
        /// The file's permission bits where the runtime can read them (.NET 7+ on Unix); the
        /// default elsewhere (Windows PowerShell), where scripts then need "sh script" to run.
        /// </summary>
        private static int UnixMode(string path, int fallback)
        {
            if (GetUnixFileMode == null || Environment.OSVersion.Platform != PlatformID.Unix) return fallback;
            try { return Convert.ToInt32(GetUnixFileMode.Invoke(null, new object[] { path })) & 0xFFF; }
            catch (TargetInvocationException) { return fallback; }
        }
    }
}
