using System;
using System.Reflection;
using System.Threading;
using Renci.SshNet;

namespace OpenBsdBuild.Remote
{
    /// <summary>
    /// Sends a message on a command's channel without racing the close of that channel. SSH.NET checks that a channel is
    /// open outside the lock its close path takes, so a message sent just as the command ends can follow the CLOSE sent in
    /// reply, and OpenSSH drops the whole connection: "ieof packet referred to nonexistent channel" for an EOF (the same race
    /// as sshnet/SSH.NET#84 and hierynomus/sshj#805), "server_input_channel_req: unknown channel" for a cancel's signal.
    /// Holding that lock across the check and the send makes them exclusive.
    /// </summary>
    internal static class ChannelLock
    {
        private const BindingFlags Private = BindingFlags.NonPublic | BindingFlags.Instance;
        private static readonly FieldInfo? CommandChannel = typeof(SshCommand).GetField("_channel", Private);
        private static readonly FieldInfo? MessagingLock =
            typeof(SshCommand).Assembly.GetType("Renci.SshNet.Channels.Channel")?.GetField("_messagingLock", Private);

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
