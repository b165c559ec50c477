using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Threading.Tasks;
using OpenBsdBuild.Tests.Fixtures;

namespace OpenBsdBuild.Tests.Images
{
    /// <summary>A real HTTP server on loopback standing in for an OpenBSD mirror: serves the files it is given, 404 for the rest.</summary>
    internal sealed class TestMirror : IDisposable
    {
        private readonly LoopbackHttpServer _server;
        private readonly ConcurrentDictionary<string, byte[]> _files = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);

        public TestMirror()
        {
            // Every interface: a package path must not be on loopback (a guest cannot reach it), so tests use this machine's address too.
            _server = new LoopbackHttpServer(AnswerAsync, everyInterface: true);
            Root = _server.Url("/pub/OpenBSD/");
            string address = NetworkInterface.GetAllNetworkInterfaces()
                .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
                .SelectMany(n => n.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))?.ToString()
                ?? throw new InvalidOperationException("This machine has no non-loopback IPv4 address for the test mirror.");
            ExternalRoot = new Uri($"http://{address}:{_server.Port}/pub/OpenBSD/");
        }

        public Uri Root { get; }
        /// <summary>The same files at this machine's network address.</summary>
        public Uri ExternalRoot { get; }

        /// <summary>Serves <paramref name="content"/> at Root + <paramref name="relativePath"/>.</summary>
        public void Add(string relativePath, byte[] content) => _files[new Uri(Root, relativePath).AbsolutePath] = content;

        private async Task AnswerAsync(HttpListenerContext context)
        {
            if (_files.TryGetValue(context.Request.Url!.AbsolutePath, out var body))
            {
                context.Response.ContentLength64 = body.Length;
                await context.Response.OutputStream.WriteAsync(body);
            }
            else
            {
                context.Response.StatusCode = 404;
            }
        }

        public void Dispose() => _server.Dispose();
    }
}
