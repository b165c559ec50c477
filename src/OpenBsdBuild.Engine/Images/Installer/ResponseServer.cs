using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Images.Installer
{
    /// <summary>
    /// Serves the response file, the disklabel template and a local package directory on this machine's
    /// loopback, which QEMU's user networking shows the guest as 10.0.2.2 (docs/openbsd-notes.md); a remote host's
    /// loopback gets it through a reverse SSH forward. An unprivileged port: the installer is told the
    /// URL at "Response file location?", so port 80 is not needed. A few lines of HTTP/1.0 rather than
    /// HttpListener, which answers 404 to a request whose Host (10.0.2.2) is not its prefix, and would
    /// have to listen on every interface to accept it; the response file holds a password.
    /// </summary>
    internal sealed class ResponseServer : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly IOperationReporter _reporter;
        private readonly ConcurrentDictionary<string, byte[]> _files = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, string> _directories = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, bool> _served = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);

        private ResponseServer(TcpListener listener, IOperationReporter reporter)
        {
            _listener = listener;
            _reporter = reporter;
            Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            GuestPort = Port;
            _ = Task.Run(AcceptAsync);
        }

        /// <summary>The port on this machine's loopback.</summary>
        public int Port { get; }

        /// <summary>The port the guest's host sees it on: the same, or a reverse SSH forward's on a remote host.</summary>
        public int GuestPort { get; set; }

        public static ResponseServer Start(IOperationReporter reporter)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var server = new ResponseServer(listener, reporter);
            reporter.Verbose($"Serving the response file on 127.0.0.1:{server.Port}");
            return server;
        }

        /// <summary>The URL the guest uses for <paramref name="name"/>.</summary>
        public string Url(string name) => $"http://10.0.2.2:{GuestPort}/{name}";

        public void Add(string name, string content) => _files[name] = Encoding.UTF8.GetBytes(content);

        /// <summary>
        /// Serves the files directly in <paramref name="directory"/> (a local package directory) under
        /// <paramref name="name"/>/, and at <paramref name="name"/>/ itself an HTML index of them: pkg_add lists a
        /// repository by fetching its URL and taking every &lt;A HREF="….tgz"&gt; (docs/openbsd-notes.md).
        /// </summary>
        public void AddDirectory(string name, string directory) => _directories[name] = directory;

        /// <summary>An HTML directory index like a web server's, one link per file.</summary>
        internal static string DirectoryIndex(string urlPath, string directory)
        {
            var html = new StringBuilder();
            html.Append("<html>\n<head><title>Index of ").Append(WebUtility.HtmlEncode(urlPath)).Append("</title></head>\n<body>\n<pre>\n");
            foreach (var file in new DirectoryInfo(directory).GetFiles().OrderBy(f => f.Name, StringComparer.Ordinal))
                html.Append("<a href=\"").Append(Uri.EscapeDataString(file.Name)).Append("\">")
                    .Append(WebUtility.HtmlEncode(file.Name)).Append("</a> ").Append(file.Length).Append('\n');
            html.Append("</pre>\n</body>\n</html>\n");
            return html.ToString();
        }

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
                    // "GET /install.conf?path=7.8/arm64 HTTP/1.1": the installer may add the query (docs/openbsd-notes.md); only the path names the file.
                    string[] parts = requestLine.Split(' ');
                    string target = parts.Length > 1 ? parts[1] : "";
                    string name = target.Split('?')[0].TrimStart('/');
                    _reporter.Verbose($"The guest asked for /{name}");
                    string? listed = parts[0] == "GET" ? ListedDirectory(name) : null;
                    using Stream? body = listed != null ? new MemoryStream(Encoding.UTF8.GetBytes(DirectoryIndex("/" + name, listed)), writable: false)
                        : parts[0] == "GET" ? Open(name) : null;
                    if (body != null) _served[name] = true;
                    string status = body == null ? "404 Not Found" : "200 OK";
                    long length = body?.Length ?? 0;
                    string type = listed != null ? "text/html; charset=utf-8" : "application/octet-stream";
                    var head = Encoding.ASCII.GetBytes($"HTTP/1.0 {status}\r\nContent-Type: {type}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n");
                    await stream.WriteAsync(head, 0, head.Length).ConfigureAwait(false);
                    if (body != null) await body.CopyToAsync(stream, 1 << 16).ConfigureAwait(false);
                }
                catch (IOException)
                {
                    // The guest went away mid-request; it will ask again.
                }
            }
        }

        /// <summary>The served directory that "name/" (or "name") asks for, else null.</summary>
        private string? ListedDirectory(string name) => _directories.TryGetValue(name.TrimEnd('/'), out var directory) ? directory : null;

        private Stream? Open(string name)
        {
            if (_files.TryGetValue(name, out var content)) return new MemoryStream(content, writable: false);
            int slash = name.IndexOf('/');
            if (slash < 0 || !_directories.TryGetValue(name.Substring(0, slash), out var directory)) return null;
            // Only files directly in the directory: no "..", no subfolders.
            string file = Uri.UnescapeDataString(name.Substring(slash + 1));
            if (file.Length == 0 || file.IndexOfAny(new[] { '/', '\\' }) >= 0 || file == "." || file == "..") return null;
            string path = Path.Combine(directory, file);
            return File.Exists(path) ? File.OpenRead(path) : null;
        }

        public void Dispose() => _listener.Stop();
    }
}
