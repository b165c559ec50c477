using System;
using System.IO;
using System.Reflection;
using System.Threading;
using Renci.SshNet;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// Sends a message on a command's channel without racing the close of that channel. SSH.NET checks that a channel is
    /// open outside the lock its close path takes, so a message sent just as the command ends can follow the CLOSE sent in
    /// reply, and OpenSSH drops the whole connection: "ieof packet referred to nonexistent channel" for an EOF (the same race
    /// as sshnet/SSH.NET#84 and hierynomus/sshj#805), "server_input_channel_req: unknown channel" for a cancel's signal,
    /// "data packet referred to nonexistent channel" for input. Holding that lock across the check and the send makes them
    /// exclusive.
    /// </summary>
    internal static class ChannelLock
    {
        private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        private static readonly FieldInfo? CommandChannel = typeof(SshCommand).GetField("_channel", Private);
        private static readonly Type? ChannelType = typeof(SshCommand).Assembly.GetType("Renci.SshNet.Channels.Channel");
        private static readonly FieldInfo? MessagingLock = ChannelType?.GetField("_messagingLock", Private);
        private static readonly PropertyInfo? IsOpen = ChannelType?.GetProperty("IsOpen");
        private static readonly PropertyInfo? RemoteWindowSize = ChannelType?.GetProperty("RemoteWindowSize");
        private static readonly FieldInfo? WindowAdjusted = ChannelType?.GetField("_channelServerWindowAdjustWaitHandle", Private);

        /// <summary>
        /// Runs <paramref name="send"/> (an EOF: disposing stdin; a cancel: SSH.NET's signal, then its close) under the
        /// channel's lock. A link that dies meanwhile keeps the lock held until the shell is closed, which cuts its socket
        /// (<see cref="SshTransport"/>); the receive thread waits for it as long (a cancel: up to SSH.NET's 500 ms).
        /// </summary>
        public static void Run(SshCommand command, Action send)
        {
            object? gate = CommandChannel?.GetValue(command) is object channel ? MessagingLock?.GetValue(channel) : null;
            if (gate == null)
            {
                send(); // no channel yet, or an SSH.NET without these fields: its own behaviour
                return;
            }
            Enter(gate);
            try { send(); }
            finally { Exit(gate); }
        }

        /// <summary>
        /// Writes a command's input in pieces that fit the server's window, each under the channel's lock after checking
        /// that the channel is still open, so no piece follows the CLOSE. A piece never waits for window space with the
        /// lock held (the receive thread would block on the server's CLOSE, and so the whole session): with the window
        /// full it waits outside, and gives up as soon as the channel closes, where SSH.NET would wait out the connect
        /// timeout for a command that ended without reading its input.
        /// </summary>
        /// <exception cref="IOException">The channel closed before all of the input was sent.</exception>
        public static void Write(SshCommand command, Stream stdin, byte[] buffer, int offset, int count)
        {
            object? channel = CommandChannel?.GetValue(command);
            object? gate = channel != null ? MessagingLock?.GetValue(channel) : null;
            if (gate == null || IsOpen == null || RemoteWindowSize == null || WindowAdjusted == null)
            {
                stdin.Write(buffer, offset, count); // an SSH.NET without these members: its own behaviour
                return;
            }
            while (count > 0)
            {
                int piece;
                Enter(gate);
                try
                {
                    ThrowIfClosed(channel!);
                    piece = (int)Math.Min((uint)count, (uint)RemoteWindowSize.GetValue(channel)!);
                    if (piece > 0) stdin.Write(buffer, offset, piece);
                }
                finally { Exit(gate); }
                if (piece == 0) WaitForWindow(channel!);
                offset += piece;
                count -= piece;
            }
        }

        // SSH.NET adds to the window, then sets the event: a reset followed by a second look at the window misses no
        // adjustment. Only this writer sends on the channel, so SSH.NET's own sender never resets it meanwhile.
        private static void WaitForWindow(object channel)
        {
            var adjusted = (EventWaitHandle?)WindowAdjusted!.GetValue(channel) ?? throw new ObjectDisposedException("channel");
            adjusted.Reset();
            while ((uint)RemoteWindowSize!.GetValue(channel)! == 0 && !adjusted.WaitOne(ClosedCheckInterval))
                ThrowIfClosed(channel);
        }

        private static void ThrowIfClosed(object channel)
        {
            if (!(bool)IsOpen!.GetValue(channel)!) throw new IOException("The command's channel closed before its input was sent.");
        }

        private static readonly TimeSpan ClosedCheckInterval = TimeSpan.FromMilliseconds(100);

        // SSH.NET's netstandard2.0 and net462 builds lock with Monitor on a Lock object of their own; a build for .NET 9 or
        // later uses System.Threading.Lock, which a Monitor would not exclude.
        private static void Enter(object gate)
        {
            if (gate.GetType().FullName == "System.Threading.Lock") gate.GetType().GetMethod("Enter", Type.EmptyTypes)!.Invoke(gate, null);
            else Monitor.Enter(gate);
        }

        private static void Exit(object gate)
        {
            if (gate.GetType().FullName == "System.Threading.Lock") gate.GetType().GetMethod("Exit", Type.EmptyTypes)!.Invoke(gate, null);
            else Monitor.Exit(gate);
        }
    }
}
