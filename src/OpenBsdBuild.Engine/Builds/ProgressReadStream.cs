using System;
using System.IO;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Builds
{
    /// <summary>Reports how many bytes have been read through it (for upload progress).</summary>
    internal sealed class ProgressReadStream : SequentialStream
    {
        private readonly Stream _inner;
        private readonly Action<long> _progress;
        private long _done;

        public ProgressReadStream(Stream inner, Action<long> progress)
        {
            _inner = inner;
            _progress = progress;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = _inner.Read(buffer, offset, count);
            _done += n;
            _progress(_done);
            return n;
        }

        public override bool CanRead => true;
        public override bool CanWrite => false;
        public override long Length => _inner.Length;
        public override long Position { get => _done; set => throw new NotSupportedException(); }
    }
}
