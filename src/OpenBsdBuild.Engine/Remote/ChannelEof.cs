using System;
using System.IO;
using System.Reflection;
using System.Threading;
using Renci.SshNet;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// Ends a command's input without racing the server's close of its channel. SSH.NET checks that the channel is open
    /// outside the lock its close path takes, so when a command ends just then, the EOF can follow the CLOSE sent in reply,
    /// and OpenSSH drops the whole connection ("ieof packet referred to nonexistent channel"; the same race as
    /// sshnet/SSH.NET#84 and hierynomus/sshj#805). Holding that lock across the check and the EOF makes them exclusive.
    /// </summary>
    internal static class ChannelEof
    {
        private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        private static readonly FieldInfo? CommandChannel = typeof(SshCommand).GetField("_channel", Private);
        private static readonly FieldInfo? MessagingLock =
            typeof(SshCommand).Assembly.GetType("Renci.SshNet.Channels.Channel")?.GetField("_messagingLock", Private);

        /// <summary>
        /// Disposes <paramref name="stdin"/> (which sends the EOF while the channel is open) under the channel's lock. Only after
        /// a completed copy: a link that dies just then keeps the lock held until the shell is closed, which cuts its socket
        /// (<see cref="SshTransport"/>).
        /// </summary>
        public static void Send(SshCommand command, Stream stdin)
        {
            object? gate = CommandChannel?.GetValue(command) is object channel ? MessagingLock?.GetValue(channel) : null;
            if (gate == null)
            {
                stdin.Dispose(); // an SSH.NET without these fields: its own behaviour
                return;
            }
            Enter(gate);
            try { stdin.Dispose(); }
            finally { Exit(gate); }
        }

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
