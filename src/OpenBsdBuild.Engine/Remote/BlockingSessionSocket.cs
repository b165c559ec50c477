using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Renci.SshNet;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// Hands an SSH.NET session's socket back to the kernel's blocking reads and writes (Linux only).
    /// SSH.NET connects asynchronously, and from then on .NET keeps the descriptor non-blocking and watched
    /// by its epoll thread: every segment that arrives while no read is queued becomes a thread-pool work
    /// item, whose worker then spins before it sleeps. SSH.NET only reads that socket on its one receive
    /// thread and writes it under a lock, synchronously, so a blocking descriptor outside epoll does the same
    /// work without those wake-ups (docs/transfers.md, "The client's own cost per packet").
    /// </summary>
    internal static class BlockingSessionSocket
    {
        private const int F_GETFL = 3, F_SETFL = 4, O_NONBLOCK = 0x800, EPOLL_CTL_DEL = 2;

        /// <summary>
        /// Key authentication that first makes the session's socket blocking, and takes it out of epoll once the
        /// server has answered. SSH.NET's receive thread may be waiting for epoll when this starts; the answer
        /// wakes it, and from then on every read it starts goes straight to the kernel (a blocking descriptor never
        /// says "try again"), so nothing can be left waiting for an epoll event that would no longer come.
        /// </summary>
        internal sealed class KeyAuthentication : PrivateKeyAuthenticationMethod
        {
            public KeyAuthentication(string user, PrivateKeyFile key) : base(user, key) { }

            public override AuthenticationResult Authenticate(Session session)
            {
                // SSH.NET has no public way to reach a session's socket (SessionSocketTests fail if an update removes it).
                int fd = SshTransport.SocketOf(session) is Socket socket && RuntimeInformation.IsOSPlatform(OSPlatform.Linux) ? MakeBlocking(socket) : -1;
                var result = base.Authenticate(session);
                if (fd >= 0) LeaveEpoll(fd);
                return result;
            }
        }

        /// <returns>The descriptor, or -1 if it was left as it was.</returns>
        private static int MakeBlocking(Socket socket)
        {
            try
            {
                int fd = (int)socket.Handle;
                int flags = fcntl(fd, F_GETFL, 0);
                return flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 ? fd : -1;
            }
            catch (Exception ex) when (ex is DllNotFoundException || ex is EntryPointNotFoundException || ex is ObjectDisposedException)
            {
                return -1;
            }
        }

        private static void LeaveEpoll(int fd)
        {
            try
            {
                foreach (int epfd in EpollInstancesWatching(fd)) epoll_ctl(epfd, EPOLL_CTL_DEL, fd, IntPtr.Zero);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is DllNotFoundException || ex is EntryPointNotFoundException)
            {
                // Still watched: blocking reads and writes work all the same, only the wake-ups stay.
            }
        }

        /// <summary>The epoll descriptors of this process that watch <paramref name="fd"/> (their /proc fdinfo lists it as "tfd:").</summary>
        internal static List<int> EpollInstancesWatching(int fd)
        {
            var found = new List<int>();
            string wanted = fd.ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (string info in Directory.EnumerateFiles("/proc/self/fdinfo"))
            {
                string[] lines;
                try { lines = File.ReadAllLines(info); }
                catch (IOException) { continue; } // closed meanwhile
                foreach (string line in lines)
                {
                    if (!line.StartsWith("tfd:", StringComparison.Ordinal)) continue;
                    string[] parts = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length > 1 && parts[1] == wanted && int.TryParse(Path.GetFileName(info), out int epfd))
                    {
                        found.Add(epfd);
                        break;
                    }
                }
            }
            return found;
        }

        /// <summary>Whether <paramref name="socket"/>'s descriptor is non-blocking at the kernel (for tests).</summary>
        internal static bool IsKernelNonBlocking(Socket socket) => (fcntl((int)socket.Handle, F_GETFL, 0) & O_NONBLOCK) != 0;

        [DllImport("libc", SetLastError = true)]
        private static extern int fcntl(int fd, int cmd, int arg);

        [DllImport("libc", SetLastError = true)]
        private static extern int epoll_ctl(int epfd, int op, int fd, IntPtr ev);
    }
}
