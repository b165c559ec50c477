using System;
using System.IO;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// A stream read or written once, front to back: a pipe, a command's stdin, a packer's output. It has no length or
    /// position and cannot seek; a subclass says which way it goes (CanRead, CanWrite) and overrides Read or Write.
    /// </summary>
    internal abstract class SequentialStream : Stream
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
