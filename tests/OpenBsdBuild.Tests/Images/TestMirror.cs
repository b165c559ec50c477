using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>A real HTTP server on loopback standing in for an OpenBSD mirror: serves the files it is given, 404 for the rest.</summary>
    internal sealed class TestMirror : IDisposable
    {
        private readonly HttpListener _listener = new HttpListener();
        private readonly ConcurrentDictionary<string, byte[]> _files = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);

        public TestMirror()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            Root = new Uri($"http://127.0.0.1:{port}/pub/OpenBSD/");
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public Uri Root { get; }

        /// <summary>Serves <paramref name="content"/> at Root + <paramref name="relativePath"/>.</summary>
        public void Add(string relativePath, byte[] content) => _files[new Uri(Root, relativePath).AbsolutePath] = content;

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception ex) when (ex is HttpListenerException || ex is ObjectDisposedException || ex is InvalidOperationException) { return; }
                if (_files.TryGetValue(context.Request.Url!.AbsolutePath, out var body))
                {
                    context.Response.ContentLength64 = body.Length;
                    await context.Response.OutputStream.WriteAsync(body);
                }
                else
                {
                    context.Response.StatusCode = 404;
                }
                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }
}
