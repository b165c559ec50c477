using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>
    /// A one-way in-memory byte pipe with a writing and a reading stream, like one direction of a
    /// serial line. Reads wait for data, honour cancellation, and return 0 once the writer completed.
    /// </summary>
    public sealed class InMemoryPipe
    {
        private readonly object _gate = new object();
        private readonly Queue<byte[]> _chunks = new Queue<byte[]>();
        private readonly SemaphoreSlim _available = new SemaphoreSlim(0);
        private byte[]? _current;
        private int _offset;
        private bool _completed;

        public InMemoryPipe()
        {
            Reader = new ReadEnd(this);
            Writer = new WriteEnd(this);
        }

        public Stream Reader { get; }
        public Stream Writer { get; }

        /// <summary>Ends the stream: pending and later reads return 0.</summary>
        public void Complete()
        {
            lock (_gate)
            {
                if (_completed) return;
                _completed = true;
            }
            _available.Release();
        }

        private void Write(byte[] buffer, int offset, int count)
        {
            if (count == 0) return;
            var copy = new byte[count];
            Array.Copy(buffer, offset, copy, 0, count);
            lock (_gate)
            {
                if (_completed) throw new IOException("pipe closed");
                _chunks.Enqueue(copy);
            }
            _available.Release();
        }

        private async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_current == null && _chunks.Count > 0)
                    {
                        _current = _chunks.Dequeue();
                        _offset = 0;
                    }
                    if (_current != null)
                    {
                        var n = Math.Min(count, _current.Length - _offset);
                        Array.Copy(_current, _offset, buffer, offset, n);
                        _offset += n;
                        if (_offset == _current.Length) _current = null;
                        return n;
                    }
                    if (_completed)
                    {
                        _available.Release(); // let other waiters see the end as well
                        return 0;
                    }
                }
                await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        private sealed class ReadEnd : SequentialStream
        {
            private readonly InMemoryPipe _pipe;
            public ReadEnd(InMemoryPipe pipe) => _pipe = pipe;
            public override bool CanRead => true;
            public override bool CanWrite => false;
            public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                _pipe.ReadAsync(buffer, offset, count, cancellationToken);
        }

        private sealed class WriteEnd : SequentialStream
        {
            private readonly InMemoryPipe _pipe;
            public WriteEnd(InMemoryPipe pipe) => _pipe = pipe;
            public override bool CanRead => false;
            public override bool CanWrite => true;
            public override void Write(byte[] buffer, int offset, int count) => _pipe.Write(buffer, offset, count);
            protected override void Dispose(bool disposing)
            {
                if (disposing) _pipe.Complete();
                base.Dispose(disposing);
            }
        }
    }
}
