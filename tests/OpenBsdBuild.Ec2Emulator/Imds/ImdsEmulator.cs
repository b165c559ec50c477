using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace OpenBsdBuild.Emulation.Imds;

/// <summary>
/// An EC2 instance metadata service (IMDSv2) on a TCP port of this machine, for the first-boot agent of
/// OpenBsdBuild's EC2 images. A plain socket server rather than ASP.NET: the hop limit is the IP TTL of
/// the token PUT's response, set on the socket just before that response is written. Behaviour and its
/// sources: docs/compatibility.md ("IMDSv2 emulator"):
/// <list type="bullet">
/// <item>PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds 1–21600 (else 400), answers the
/// token as text/plain with the TTL echoed in the same header; a PUT with X-Forwarded-For, or to a versioned
/// path (/2021-03-23/api/token), is refused with 403.</item>
/// <item>With HttpTokens=required a GET without X-aws-ec2-metadata-token, or with an unknown or expired one,
/// gets 401; with optional, a GET without one is answered (IMDSv1), a bad one still gets 401.</item>
/// <item>GET and HEAD only; metadata as text/plain; a resource that does not exist (or user data never given)
/// is 404; a path ending in / lists its entries one per line.</item>
/// </list>
/// A guest reaches it through QEMU's user networking as 169.254.169.254:80 with
/// <see cref="GuestForwardRule"/>.
/// </summary>
public sealed class ImdsEmulator : IAsyncDisposable
{
    public const string TokenHeader = "X-aws-ec2-metadata-token";
    public const string TtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
    public const int MaxTokenTtlSeconds = 21600;

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, DateTime> _tokens = new();
    private readonly ConcurrentQueue<ImdsRequest> _requests = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;

    private ImdsEmulator(ImdsInstance instance, IPAddress address)
    {
        Instance = instance;
        _listener = new TcpListener(address, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>The instance whose metadata is served; tests may change it between requests.</summary>
    public ImdsInstance Instance { get; }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>http://ADDRESS:PORT — what a client on this machine uses in place of http://169.254.169.254.</summary>
    public Uri BaseUri => new($"http://{EndPoint.Address}:{EndPoint.Port}/");

    /// <summary>Every request, in order: what the agent asked and what it got.</summary>
    public IReadOnlyList<ImdsRequest> Requests => _requests.ToArray();

    /// <summary>The clock tokens expire by (tests move it to expire them without waiting).</summary>
    public Func<DateTime> UtcNow { get; set; } = () => DateTime.UtcNow;

    public static ImdsEmulator Start(ImdsInstance instance, IPAddress? address = null) => new(instance, address ?? IPAddress.Loopback);

    /// <summary>
    /// A QEMU <c>-netdev user</c> option that connects the guest's 169.254.169.254:80 to this emulator:
    /// guestfwd runs <paramref name="forwarder"/> per connection with it on stdin/stdout. libslirp accepts a
    /// guestfwd address only inside the guest network, so the netdev also needs <c>net=169.254.0.0/16</c>.
    /// </summary>
    public string GuestForwardRule(string forwarder) => $"guestfwd=tcp:169.254.169.254:80-cmd:{forwarder} {EndPoint.Address} {EndPoint.Port}";

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            catch (SocketException) { return; }
            catch (ObjectDisposedException) { return; }
            lock (_connections) _connections.Add(ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        short defaultTtl = socket.Ttl;
        try
        {
            using var stream = new NetworkStream(socket, ownsSocket: true);
            var reader = new StreamReader(stream, Encoding.ASCII, false, 8192, leaveOpen: true);
            while (!_stop.IsCancellationRequested)
            {
                string? requestLine = await reader.ReadLineAsync(_stop.Token);
                if (string.IsNullOrEmpty(requestLine)) return;
                var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                string? line;
                while (!string.IsNullOrEmpty(line = await reader.ReadLineAsync(_stop.Token)))
                {
                    int colon = line.IndexOf(':');
                    if (colon > 0) headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
                // The agent's requests have no body; one that has is read and ignored, as its content means nothing here.
                if (headers.TryGetValue("Content-Length", out string? length) && int.TryParse(length, out int n) && n > 0)
                {
                    var body = new char[n];
                    int read = 0;
                    while (read < n) { int got = await reader.ReadAsync(body.AsMemory(read, n - read), _stop.Token); if (got == 0) return; read += got; }
                }
                string[] parts = requestLine.Split(' ');
                string method = parts[0], target = parts.Length > 1 ? parts[1] : "/";
                var response = Answer(method, target, headers);
                // The hop limit applies to the token's response only (docs/compatibility.md).
                socket.Ttl = method == "PUT" ? (short)Instance.HttpPutResponseHopLimit : defaultTtl;
                // Logged before the answer leaves: a client that has read it finds its request in the log.
                _requests.Enqueue(new ImdsRequest(method, target, headers.ContainsKey(TokenHeader), response.Status, socket.Ttl));
                await WriteAsync(stream, response, method == "HEAD");
                if (headers.TryGetValue("Connection", out string? connection) && connection.Equals("close", StringComparison.OrdinalIgnoreCase)) return;
            }
        }
        catch (Exception ex) when (ex is IOException || ex is SocketException || ex is OperationCanceledException || ex is ObjectDisposedException)
        {
            // The client went away.
        }
    }

    private Response Answer(string method, string target, Dictionary<string, string> headers)
    {
        if (!Instance.HttpEndpointEnabled) return Response.Status403;
        string path = target.Split('?')[0];
        if (method == "PUT")
        {
            if (!path.EndsWith("/api/token", StringComparison.Ordinal)) return Response.Status403;
            if (path != "/latest/api/token") return Response.Status403;
            if (headers.ContainsKey("X-Forwarded-For")) return Response.Status403;
            if (!headers.TryGetValue(TtlHeader, out string? ttlText) || !int.TryParse(ttlText, out int ttl) || ttl < 1 || ttl > MaxTokenTtlSeconds)
                return Response.Status400;
            string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(42));
            _tokens[token] = UtcNow().AddSeconds(ttl);
            return new Response(200, "OK", Encoding.ASCII.GetBytes(token), new() { [TtlHeader] = ttl.ToString() });
        }
        if (method != "GET" && method != "HEAD")
            return new Response(405, "Method Not Allowed", [], new() { ["Allow"] = "OPTIONS, GET, HEAD, PUT" });
        if (headers.TryGetValue(TokenHeader, out string? presented))
        {
            if (!_tokens.TryGetValue(presented, out DateTime expires) || expires <= UtcNow()) return Response.Status401;
        }
        else if (Instance.HttpTokens == "required")
        {
            return Response.Status401;
        }
        byte[]? body = Resource(path);
        return body == null ? Response.Status404 : new Response(200, "OK", body, []);
    }

    private byte[]? Resource(string path)
    {
        var i = Instance;
        string? text = path switch
        {
            "/" => "latest\n",
            "/latest" or "/latest/" => "dynamic\nmeta-data\nuser-data\n",
            "/latest/meta-data/" => "hostname\ninstance-id\nlocal-hostname\n" + (i.PublicKey != null ? "public-keys/\n" : ""),
            "/latest/meta-data/instance-id" => i.InstanceId,
            "/latest/meta-data/local-hostname" => i.LocalHostname,
            "/latest/meta-data/hostname" => i.Hostname ?? i.LocalHostname,
            "/latest/meta-data/public-keys" or "/latest/meta-data/public-keys/" => i.PublicKey is { } k ? $"0={k.Name}" : null,
            "/latest/meta-data/public-keys/0/" => i.PublicKey != null ? "openssh-key" : null,
            "/latest/meta-data/public-keys/0/openssh-key" => i.PublicKey is { } k ? k.OpenSshKey + "\n" : null,
            _ => null,
        };
        if (text != null) return Encoding.UTF8.GetBytes(text);
        return path == "/latest/user-data" ? i.UserData : null;
    }

    private static async Task WriteAsync(Stream stream, Response r, bool headOnly)
    {
        var head = new StringBuilder();
        head.Append($"HTTP/1.1 {r.Status} {r.Reason}\r\n");
        head.Append("Content-Type: text/plain\r\n");
        head.Append($"Content-Length: {r.Body.Length}\r\n");
        foreach (var (name, value) in r.Headers) head.Append($"{name}: {value}\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
        if (!headOnly) await stream.WriteAsync(r.Body);
        await stream.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        Task[] open;
        lock (_connections) open = _connections.ToArray();
        await Task.WhenAll(open);
        _stop.Dispose();
    }

    private sealed record Response(int Status, string Reason, byte[] Body, Dictionary<string, string> Headers)
    {
        public static readonly Response Status400 = new(400, "Bad Request", [], []);
        public static readonly Response Status401 = new(401, "Unauthorized", [], []);
        public static readonly Response Status403 = new(403, "Forbidden", [], []);
        public static readonly Response Status404 = new(404, "Not Found", [], []);
    }
}

/// <summary>One request the emulator answered: whether it carried a token, the status, and the IP TTL its response left with.</summary>
public sealed record ImdsRequest(string Method, string Path, bool HadToken, int Status, short ResponseTtl);
