using System;
using System.Collections.Concurrent;
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
    /// the URL at "Response file location?", so port 80 is not needed.
    /// </summary>
    internal sealed class ResponseServer : IDisposable
    {
        private readonly HttpListener _listener;
        private readonly IOperationReporter _reporter;
        private readonly ConcurrentDictionary<string, string> _files = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, bool> _served = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);

        private ResponseServer(HttpListener listener, int port, IOperationReporter reporter)
        {
            _listener = listener;
            Port = port;
            _reporter = reporter;
            _ = Task.Run(ServeAsync);
        }

        public int Port { get; }

        public static ResponseServer Start(IOperationReporter reporter)
        {
            for (int attempt = 1; ; attempt++)
            {
                int port = FreePort();
                var listener = new HttpListener();
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    listener.Start();
                    reporter.Verbose($"Serving the response file on 127.0.0.1:{port} (the guest's 10.0.2.2:{port})");
                    return new ResponseServer(listener, port, reporter);
                }
                catch (HttpListenerException) when (attempt < 5)
                {
                    listener.Close();
                }
            }
        }

        /// <summary>The URL the guest uses for <paramref name="name"/>.</summary>
        public string Url(string name) => $"http://10.0.2.2:{Port}/{name}";

        public void Add(string name, string content) => _files[name] = content;

        public bool Served(string name) => _served.ContainsKey(name);

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync().ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpListenerException || ex is ObjectDisposedException || ex is InvalidOperationException)
                {
                    return;
                }
                // The installer may append "?path=7.8/arm64" (FACTS §2); only the path names the file.
                string name = context.Request.Url!.AbsolutePath.TrimStart('/');
                _reporter.Verbose($"The guest fetched /{name}");
                if (_files.TryGetValue(name, out var content))
                {
                    _served[name] = true;
                    var body = Encoding.UTF8.GetBytes(content);
                    context.Response.ContentType = "text/plain";
                    context.Response.ContentLength64 = body.Length;
                    await context.Response.OutputStream.WriteAsync(body, 0, body.Length).ConfigureAwait(false);
                }
                else
                {
                    context.Response.StatusCode = 404;
                }
                context.Response.Close();
            }
        }

        private static int FreePort()
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return port;
        }

        public void Dispose() => _listener.Close();
    }
}
