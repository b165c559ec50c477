using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Net.NetworkInformation;
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
            // Every interface: a package path must not be on loopback (a guest cannot reach it), so tests use this machine's address too.
            _listener.Prefixes.Add($"http://*:{port}/");
            string address = NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))?.ToString()
                ?? throw new InvalidOperationException("This machine has no non-loopback IPv4 address for the test mirror.");
            ExternalRoot = new Uri($"http://{address}:{port}/pub/OpenBSD/");
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public Uri Root { get; }
        /// <summary>The same files at this machine's network address.</summary>
        public Uri ExternalRoot { get; }

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
