using System;
using System.Net.Sockets;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Renci.SshNet;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// Closing an SSH.NET connection without waiting on a dead link. SSH.NET sends every message of a session under one
    /// write lock, held through a blocking socket send that has no timeout. When a link dies while an upload has filled the
    /// send buffer, that send waits until TCP gives up (~15 min), and so does every later one: keep-alives, channel opens
    /// and closes, and the goodbye that Dispose sends. A guest reached through its host clogs both at once: the jump's
    /// forward cannot pass the guest's data into the host's dead connection, so the guest's own sends stop too.
    /// Shutting the socket down fails the stuck send at once, which frees the lock, and the close then finishes.
    /// </summary>
    internal static class SshTransport
    {
        private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        private static readonly PropertyInfo? ClientSession = typeof(BaseClient).GetProperty("Session", Private);
        private static readonly FieldInfo? SessionSocket = typeof(Session).GetField("_socket", Private);

        /// <summary>How long a close may wait before its socket is cut: a close on a live link takes well under a second.</summary>
        internal static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

        /// <summary>Whether this SSH.NET lets a session's socket be cut (tested, so an SSH.NET update that removes the seam fails a test).</summary>
        internal static bool CanCut => ClientSession != null && SessionSocket != null;

        /// <summary>Disposes <paramref name="client"/>, cutting its socket when that is stuck on a dead link.</summary>
        public static void Close(BaseClient client) => Close(client.Dispose, () => Cut(client));

        /// <summary>
        /// Runs <paramref name="close"/>; still waiting after <see cref="CloseGrace"/>, it runs <paramref name="cut"/> (if any)
        /// and waits once more; past that the close is left to finish on its own. Returns whether it finished.
        /// </summary>
        public static bool Close(Action close, Action? cut)
        {
            Task closing = Task.Factory.StartNew(close, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            if (Ended(closing)) return true;
            cut?.Invoke();
            if (cut != null && Ended(closing)) return true;
            _ = closing.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed whenever it ends
            return false;
        }

        /// <summary>Shuts down the client's socket: a send stuck on it fails, and so does every later one.</summary>
        public static void Cut(BaseClient client)
        {
            if (SocketOf(client) is Socket socket)
            {
                try { socket.Shutdown(SocketShutdown.Both); }
                catch (Exception ex) when (ex is SocketException || ex is ObjectDisposedException) { /* already closed */ }
            }
        }

        /// <summary>A session's socket (SSH.NET keeps it private), or null without one.</summary>
        internal static Socket? SocketOf(Session session) => SessionSocket?.GetValue(session) as Socket;

        internal static Socket? SocketOf(BaseClient client) => ClientSession?.GetValue(client) is Session session ? SocketOf(session) : null;

        private static bool Ended(Task closing)
        {
            try { return closing.Wait(CloseGrace); }
            catch (AggregateException) { return true; } // it failed, but it ended
        }
    }
}
