using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Remote;

namespace OpenBsdBuild.Builds
{
    /// <summary>
    /// A source selection as a tar stream, packed while it is consumed; no temp file. Copied (what both shells do with a
    /// command's stdin), it packs on a thread of its own straight into the destination: one write per 256 KB piece and
    /// no hand-off between threads, which matters when the client shares a starved CPU with the guest (docs/transfers.md).
    /// Read (or CopyTo, which is not virtual on netstandard2.0), it packs on a background thread into a bounded
    /// <see cref="PipeStream"/> instead.
    /// </summary>
    internal sealed class SourceArchive : SequentialStream
    {
        /// <summary>
        /// gzip writes in 8 KB pieces and tar in 10 KB records; SSH.NET sends every write as its own packets and
        /// manages ~26 MB/s that way but ~160 MB/s with 64 KB+ writes. So writes are coalesced to this size.
        /// </summary>
        internal const int WriteSize = 256 << 10;

        private readonly Action<Stream, CancellationToken> _pack;
        private readonly CancellationTokenSource _stop;
        private readonly TaskCompletionSource<bool> _packed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        private PipeStream? _pipe;
        private int _started;

        /// <param name="pack">Writes the whole archive to its stream; throws on a read error or the token.</param>
        public SourceArchive(Action<Stream, CancellationToken> pack, CancellationToken cancellationToken)
        {
            _pack = pack;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        }

        /// <summary>
        /// Ends when packing ends: faulted with the packer's own error (a file it could not read), cancelled, or
        /// faulted with <see cref="ConsumerGoneException"/> when whoever took the stream stopped taking it.
        /// </summary>
        public Task Packing => _packed.Task;

        /// <summary>True once it was read rather than copied (tests: SSH must copy it, or the pipe comes back).</summary>
        internal bool WasRead => _pipe != null;

        public override Task CopyToAsync(Stream destination, int bufferSize, CancellationToken cancellationToken)
        {
            Start();
            var copied = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            var stop = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, cancellationToken);
            // A thread of its own: the packer blocks in the destination's writes (SSH.NET waits there for the window).
            Task.Factory.StartNew(() =>
            {
                try
                {
                    Run(destination, stop.Token);
                    copied.TrySetResult(true);
                }
                catch (ConsumerGoneException gone)
                {
                    // The destination's own failure, as a plain copy would have shown it.
                    copied.TrySetException(gone.InnerException!);
                }
                catch (OperationCanceledException)
                {
                    copied.TrySetCanceled(stop.Token.IsCancellationRequested ? stop.Token : CancellationToken.None);
                }
                catch (Exception ex)
                {
                    copied.TrySetException(PackingFailed(ex));
                }
                finally
                {
                    stop.Dispose();
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return copied.Task;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_pipe == null)
            {
                Start();
                var pipe = new PipeStream();
                _pipe = pipe;
                Task.Factory.StartNew(() =>
                {
                    try
                    {
                        Run(pipe, _stop.Token);
                        pipe.CompleteWriting();
                    }
                    catch (Exception ex)
                    {
                        pipe.CompleteWriting(ex);
                    }
                }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            return _pipe.Read(buffer, offset, count);
        }

        private void Start()
        {
            if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("The archive is already being consumed.");
        }

        /// <summary>Packs into <paramref name="destination"/>, then settles <see cref="Packing"/> with the outcome.</summary>
        private void Run(Stream destination, CancellationToken cancellationToken)
        {
            try
            {
                var consumer = new Consumer(destination, cancellationToken);
                // Not disposed: that would close the destination, which is its owner's to close.
                var coalesced = new BufferedStream(consumer, WriteSize);
                _pack(coalesced, cancellationToken);
                coalesced.Flush();
                _packed.TrySetResult(true);
            }
            catch (OperationCanceledException)
            {
                _packed.TrySetCanceled();
                throw;
            }
            catch (Exception ex)
            {
                _packed.TrySetException(ex);
                throw;
            }
        }

        private static IOException PackingFailed(Exception ex) => new IOException("Packing the sources failed: " + ex.Message, ex);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                // Stops a packer still running: the consumer has gone.
                _stop.Cancel();
                _pipe?.Dispose();
            }
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanWrite => false;

        /// <summary>Whoever consumed the archive failed to take a write: its failure, not the packer's.</summary>
        internal sealed class ConsumerGoneException : IOException
        {
            public ConsumerGoneException(Exception inner) : base("The sources' reader stopped reading: " + inner.Message, inner) { }
        }

        /// <summary>The consumer's end: tells its failures from the packer's own, and stops between writes once cancelled.</summary>
        private sealed class Consumer : SequentialStream
        {
            private readonly Stream _inner;
            private readonly CancellationToken _cancellationToken;

            public Consumer(Stream inner, CancellationToken cancellationToken)
            {
                _inner = inner;
                _cancellationToken = cancellationToken;
            }

            public override void Write(byte[] buffer, int offset, int count)
            {
                _cancellationToken.ThrowIfCancellationRequested();
                try { _inner.Write(buffer, offset, count); }
                catch (Exception ex) when (!(ex is OperationCanceledException)) { throw new ConsumerGoneException(ex); }
            }

            public override bool CanRead => false;
            public override bool CanWrite => true;
        }
    }
}
