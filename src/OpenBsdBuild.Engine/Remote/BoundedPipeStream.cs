using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// A command's stdout with a bound on what waits unread. SSH.NET hands each received packet to the
    /// command's output stream on the session's one receive thread and opens a 2 GB window, so with its own
    /// stream a reader that falls behind (a slow disk, a starved CPU) lets the rest of the transfer pile up in
    /// memory. Here a write blocks while <see cref="Capacity"/> bytes are unread: the receive thread stops
    /// reading the socket and TCP pushes back to the sender (through a jump, via the outer session's socket).
    /// Disposing (SSH.NET does when the channel closes) ends the stream after what is buffered; once the
    /// reader has gone (<see cref="ReaderDone"/>) writes are dropped, so the session is never held up by
    /// a reader that will not come back.
    /// </summary>
    internal sealed class BoundedPipeStream : SequentialStream
    {
        private readonly object _sync = new object();
        private readonly Queue<byte[]> _chunks = new Queue<byte[]>();
        private int _headOffset; // bytes of the first chunk already read
        private long _buffered;
        private bool _writerDone;
        private bool _readerDone;
        private readonly Action? _onRead;

        /// <param name="onRead">Called after each read that returned bytes (outside the lock).</param>
        public BoundedPipeStream(int capacity, Action? onRead = null)
        {
            Capacity = capacity;
            _onRead = onRead;
        }

        /// <summary>Bytes that may wait unread before a write blocks (one write larger than this still passes alone).</summary>
        public int Capacity { get; }

        /// <summary>The most bytes that ever waited unread: what this stream cost in memory.</summary>
        public long PeakBuffered { get; private set; }

        public override void Write(byte[] buffer, int offset, int count)
        {
            if (count == 0) return;
            var copy = new byte[count];
            Buffer.BlockCopy(buffer, offset, copy, 0, count);
            lock (_sync)
            {
                while (_buffered > 0 && _buffered + count > Capacity && !_readerDone && !_writerDone) Monitor.Wait(_sync);
                if (_readerDone || _writerDone) return;
                _chunks.Enqueue(copy);
                _buffered += count;
                if (_buffered > PeakBuffered) PeakBuffered = _buffered;
                Monitor.PulseAll(_sync);
            }
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = ReadBuffered(buffer, offset, count);
            if (n > 0) _onRead?.Invoke();
            return n;
        }

        private int ReadBuffered(byte[] buffer, int offset, int count)
        {
            lock (_sync)
            {
                while (_chunks.Count == 0 && !_writerDone) Monitor.Wait(_sync);
                if (_chunks.Count == 0) return 0;
                byte[] head = _chunks.Peek();
                int n = Math.Min(count, head.Length - _headOffset);
                Buffer.BlockCopy(head, _headOffset, buffer, offset, n);
                _headOffset += n;
                if (_headOffset == head.Length)
                {
                    _chunks.Dequeue();
                    _headOffset = 0;
                }
                _buffered -= n;
                Monitor.PulseAll(_sync);
                return n;
            }
        }

        /// <summary>The reader will read no more: drop what waits and whatever still arrives.</summary>
        public void ReaderDone()
        {
            lock (_sync)
            {
                _readerDone = true;
                _chunks.Clear();
                _headOffset = 0;
                _buffered = 0;
                Monitor.PulseAll(_sync);
            }
        }

        protected override void Dispose(bool disposing)
        {
            lock (_sync)
            {
                _writerDone = true;
                Monitor.PulseAll(_sync);
            }
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanWrite => true;
    }
}
