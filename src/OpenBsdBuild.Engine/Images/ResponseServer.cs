using System;
using System.Collections.Concurrent;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Images
{
    /// <summary>
    /// Serves the response file and disklabel template on this machine's loopback, which QEMU's user
    /// networking shows the guest as 10.0.2.2 (FACTS §3). An unprivileged port: the installer is told
    /// the URL at "Response file location?", so port 80 is not needed. A few lines of HTTP/1.0 rather
    /// than HttpListener, which answers 404 to a request whose Host (10.0.2.2) is not its prefix, and
    /// would have to listen on every interface to accept it; the response file holds a password.
    /// </summary>
    internal sealed class ResponseServer : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly IOperationReporter _reporter;
        private readonly ConcurrentDictionary<string, string> _files = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, bool> _served = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);

        private ResponseServer(TcpListener listener, IOperationReporter reporter)
        {
            _listener = listener;
            _reporter = reporter;
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            _ = Task.Run(AcceptAsync);
        }

        public int Port { get; }

        public static ResponseServer Start(IOperationReporter reporter)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var server = new ResponseServer(listener, reporter);
            reporter.Verbose($"Serving the response file on 127.0.0.1:{server.Port} (the guest's 10.0.2.2:{server.Port})");
            return server;
        }

        /// <summary>The URL the guest uses for <paramref name="name"/>.</summary>
        public string Url(string name) => $"http://10.0.2.2:{Port}/{name}";

        public void Add(string name, string content) => _files[name] = content;

        public bool Served(string name) => _served.ContainsKey(name);

        private async Task AcceptAsync()
        {
            while (true)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is SocketException || ex is ObjectDisposedException || ex is InvalidOperationException)
                {
                    return;
                }
                _ = Task.Run(() => AnswerAsync(client));
            }
        }

        private async Task AnswerAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    var reader = new StreamReader(stream, Encoding.ASCII);
                    string requestLine = await reader.ReadLineAsync().ConfigureAwait(false) ?? "";
                    while (!string.IsNullOrEmpty(await reader.ReadLineAsync().ConfigureAwait(false))) { }
                    // "GET /install.conf?path=7.8/arm64 HTTP/1.1": the installer may add the query (FACTS §2); only the path names the file.
                    string[] parts = requestLine.Split(' ');
                    string target = parts.Length > 1 ? parts[1] : "";
                    string name = target.Split('?')[0].TrimStart('/');
                    _reporter.Verbose($"The guest asked for /{name}");
                    byte[] body;
                    string status;
                    if (parts[0] == "GET" && _files.TryGetValue(name, out var content))
                    {
                        _served[name] = true;
                        body = Encoding.UTF8.GetBytes(content);
                        status = "200 OK";
                    }
                    else
                    {
                        body = Encoding.UTF8.GetBytes("not found\n");
                        status = "404 Not Found";
                    }
                    var head = Encoding.ASCII.GetBytes($"HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
                    await stream.WriteAsync(head, 0, head.Length).ConfigureAwait(false);
                    await stream.WriteAsync(body, 0, body.Length).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // The guest went away mid-request; it will ask again.
                }
            }
        }

        public void Dispose() => _listener.Stop();
    }
}
