using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;

namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>Ports for servers the tests start themselves.</summary>
    public static class FreePort
    {
        /// <summary>A loopback port that was free a moment ago; nothing listens on it when this returns (a connection is refused).</summary>
        public static int OnLoopback()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return port;
        }
    }

    /// <summary>
    /// A real HTTP server (HttpListener) on a free port that answers every request with the test's own handler, then
    /// closes the response. A client that goes away mid-answer ends that answer only.
    /// </summary>
    public sealed class LoopbackHttpServer : IDisposable
    {
        private readonly HttpListener _listener = new HttpListener();
        private readonly Func<HttpListenerContext, Task> _answer;

        /// <param name="answer">Sets status, headers and body of one response.</param>
        /// <param name="everyInterface">Listen on every interface, not only 127.0.0.1 (for a client that cannot use loopback).</param>
        public LoopbackHttpServer(Func<HttpListenerContext, Task> answer, bool everyInterface = false)
        {
            _answer = answer;
            Port = FreePort.OnLoopback();
            _listener.Prefixes.Add(everyInterface ? $"http://*:{Port}/" : $"http://127.0.0.1:{Port}/");
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public int Port { get; }

        /// <summary><paramref name="pathAndQuery"/> (from the root, e.g. "/pub/") on 127.0.0.1.</summary>
        public Uri Url(string pathAndQuery) => new Uri($"http://127.0.0.1:{Port}{pathAndQuery}");

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception ex) when (ex is HttpListenerException || ex is ObjectDisposedException || ex is InvalidOperationException) { return; }
                try { await _answer(context); }
                catch (Exception ex) when (ex is HttpListenerException || ex is IOException || ex is ObjectDisposedException) { /* the client went away */ }
                try { context.Response.Close(); }
                catch (Exception ex) when (ex is HttpListenerException || ex is ObjectDisposedException) { }
            }
        }

        public void Dispose() => _listener.Close();
    }
}
