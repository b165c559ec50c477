using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace OpenBsdBuild.Remote
{
    internal static class StreamCopy
    {
        public static async Task<long> CopyAsync(Stream source, Stream destination, Action<long>? progress, CancellationToken cancellationToken)
        {
            var buffer = new byte[1 << 20];
            long total = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await destination.WriteAsync(buffer, 0, read, cancellationToken).ConfigureAwait(false);
                total += read;
                progress?.Invoke(total);
            }
            return total;
        }
    }
}
