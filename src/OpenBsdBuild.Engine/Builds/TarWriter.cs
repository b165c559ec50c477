using System;
using System.IO;
using System.Reflection;
using System.Text;
using ICSharpCode.SharpZipLib.Tar;

namespace OpenBsdBuild.Builds
{
    /// <summary>
    /// Source files as a tar stream (SharpZipLib: ustar headers, GNU long-name records past 100 bytes,
    /// which OpenBSD's tar and busybox both read), with each file's permission bits and owner 0, so a
    /// build script keeps its executable bit and root extracting it owns nothing foreign.
    /// </summary>
    public sealed class TarWriter
    {
        private readonly TarOutputStream _tar;
        private readonly byte[] _buffer = new byte[1 << 16];

        public TarWriter(Stream output) => _tar = new TarOutputStream(new FlushedByOwner(output), new UTF8Encoding(false)) { IsStreamOwner = false };

        public void AddFile(string name, string sourcePath)
        {
            using var source = new FileStream(sourcePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            long length = source.Length;
            var entry = TarEntry.CreateTarEntry(name.Replace('\\', '/'));
            entry.Size = length;
            entry.ModTime = File.GetLastWriteTimeUtc(sourcePath);
            var header = entry.TarHeader;
            header.Mode = UnixMode(sourcePath, 0x1A4 /* 0644 */);
            header.UserId = 0;
            header.GroupId = 0;
            header.UserName = "";
            header.GroupName = "";
            _tar.PutNextEntry(entry);
            long left = length;
            while (left > 0)
            {
                int read = source.Read(_buffer, 0, (int)Math.Min(_buffer.Length, left));
                if (read == 0) throw new IOException($"'{sourcePath}' shrank while it was being packed.");
                _tar.Write(_buffer, 0, read);
                left -= read;
            }
            _tar.CloseEntry();
        }

        /// <summary>The end-of-archive blocks; the output stays open (it is the gzip stream's to close).</summary>
        public void Finish() => _tar.Close();

        /// <summary>
        /// The output without SharpZipLib's flushes. Its TarBuffer flushes after every 10 KB record, which empties a
        /// coalescing buffer into 10 KB SSH packets (3× the packets, and 2.8× the context switches in a TCG guest, which
        /// took uploads to half the speed of the same bytes sent from a file) and makes gzip end a block each time. Whoever
        /// owns the output flushes it once the archive is done.
        /// </summary>
        private sealed class FlushedByOwner : OpenBsdBuild.Remote.SequentialStream
        {
            private readonly Stream _inner;
            public FlushedByOwner(Stream inner) => _inner = inner;
            public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);
            public override bool CanRead => false;
            public override bool CanWrite => true;
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
