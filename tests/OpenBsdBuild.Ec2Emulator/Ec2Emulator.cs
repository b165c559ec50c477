using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenBsdBuild.Emulation.Actions;
using OpenBsdBuild.Emulation.Model;
using OpenBsdBuild.Emulation.Ssm;
using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation;

/// <summary>
/// A wire-level EC2 Query API (and SSM Parameter Store) emulator on 127.0.0.1, for driving the
/// real AWS SDK clients in tests:
/// <code>
/// await using var ec2 = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions());
/// var client = new AmazonEC2Client(creds, new AmazonEC2Config { ServiceURL = ec2.Endpoint.ToString(), AuthenticationRegion = "us-east-1" });
/// </code>
/// The region of each request comes from its SigV4 credential scope. Signatures are not
/// verified. The test-facing control surface is in Ec2Emulator.Control.cs.
/// </summary>
public sealed partial class Ec2Emulator : IAsyncDisposable
{
    private readonly Ec2State _state;
    private readonly FaultPlan _faults = new();
    private readonly RequestLog _log = new();
    private readonly Ec2Api _ec2;
    private readonly SsmApi _ssm;
    private readonly List<Exception> _unhandled = [];
    private WebApplication? _app;

    private Ec2Emulator(Ec2EmulatorOptions options)
    {
        if (!options.Regions.ContainsKey(options.DefaultRegion))
            throw new ArgumentException($"DefaultRegion '{options.DefaultRegion}' is not one of Regions.", nameof(options));
        _state = new Ec2State(options, _faults);
        _ec2 = new Ec2Api(_state);
        _ssm = new SsmApi(_state);
    }

    /// <summary>http://127.0.0.1:PORT/ — the EC2 endpoint.</summary>
    public Uri Endpoint { get; private set; } = null!;

    /// <summary>The SSM endpoint: the same listener, told apart by the X-Amz-Target header.</summary>
    public Uri SsmEndpoint => Endpoint;

    public static async Task<Ec2Emulator> StartAsync(Ec2EmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var emulator = new Ec2Emulator(options ?? new Ec2EmulatorOptions());
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Production",
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0)); // port 0: parallel test runs never collide
        var app = builder.Build();
        app.Run(emulator.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        emulator.Endpoint = new Uri(address.TrimEnd('/') + "/");
        emulator._app = app;
        return emulator;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _app = null;
        lock (_state.Gate) _state.Imports.DeleteData();
    }

    private async Task HandleAsync(HttpContext http)
    {
        // Another account's request: its own emulator answers, with its own resources and account id.
        if (SigV4Scope.Parse(http.Request.Headers.Authorization) is { } caller && AccountFor(caller.AccessKeyId) is { } account)
        {
            await account.HandleAsync(http).ConfigureAwait(false);
            return;
        }
        var timer = Stopwatch.StartNew();
        var startedAt = _state.Now;
        var requestId = Guid.NewGuid().ToString();
        var request = http.Request;

        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
            body = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);

        var scope = SigV4Scope.Parse(request.Headers.Authorization);
        var region = scope?.Region ?? _state.Options.DefaultRegion;
        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var target = request.Headers["X-Amz-Target"].ToString();

        Reply reply;
        string service, action;
        IReadOnlyDictionary<string, string> parameters;
        if (_faults.TakeErrorPage() is int pageStatus)
        {
            service = "proxy";
            action = "";
            parameters = new Dictionary<string, string>();
            reply = new Reply(pageStatus, "text/html", $"<html><head><title>{pageStatus} Bad Gateway</title></head><body><h1>{pageStatus} Bad Gateway</h1></body></html>", null);
        }
        else if (target.StartsWith(SsmApi.TargetPrefix, StringComparison.Ordinal))
        {
            service = "ssm";
            action = target[SsmApi.TargetPrefix.Length..];
            parameters = new Dictionary<string, string> { ["body"] = body };
            reply = HandleSsm(action, region, body);
        }
        else
        {
            service = "ec2";
            // EC2 also accepts the Query API as GET with a query string.
            var query = QueryParameters.ParseForm(HttpMethods.IsGet(request.Method) ? request.QueryString.Value?.TrimStart('?') ?? "" : body);
            action = query.Get("Action") ?? "";
            parameters = query.All;
            reply = HandleEc2(action, query, region, requestId);
        }

        _log.Add(new EmulatorRequest(startedAt, service, action, scope?.AccessKeyId, scope?.Region, reply.Status, reply.ErrorCode,
            timer.Elapsed, parameters, headers));

        if (_faults.TakeLostAnswer(action))
        {
            // Carried out, but the answer never reaches the caller: the connection stays silent until the caller gives up.
            try { await Task.Delay(Timeout.Infinite, http.RequestAborted).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            return;
        }
        http.Response.StatusCode = reply.Status;
        http.Response.ContentType = reply.ContentType;
        http.Response.Headers["x-amzn-RequestId"] = requestId;
        await http.Response.WriteAsync(reply.Body, http.RequestAborted).ConfigureAwait(false);
    }

    private readonly record struct Reply(int Status, string ContentType, string Body, string? ErrorCode);

    private const string XmlContentType = "text/xml;charset=UTF-8";

    private Reply HandleEc2(string action, QueryParameters query, string region, string requestId)
    {
        try
        {
            if (!_ec2.Knows(action))
                throw new Ec2Error("InvalidAction", $"The action {action} is not valid for this web service.");
            // Scripted faults come before validation, as throttling does on EC2.
            if (_faults.TakeFailure(action) is { } injected) throw injected;
            if (query.GetBool("DryRun") == true)
                throw new Ec2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.");
            var call = new Ec2Call(action, query, _state.Region(region), requestId);
            return new Reply(200, XmlContentType, _ec2.Handle(call), null);
        }
        catch (Ec2Error e)
        {
            return new Reply(e.HttpStatus, XmlContentType, e.ToXml(requestId), e.Code);
        }
        catch (Exception e)
        {
            // An emulator bug: answer like EC2's InternalError and keep it for the test to see.
            lock (_unhandled) _unhandled.Add(e);
            var error = new Ec2Error("InternalError", "Emulator failure: " + e.Message, 500);
            return new Reply(500, XmlContentType, error.ToXml(requestId), error.Code);
        }
    }

    private Reply HandleSsm(string action, string region, string body)
    {
        try
        {
            if (!SsmApi.Actions.Contains(action))
                throw new SsmError("UnknownOperationException", $"Operation {action} is not supported by this emulator");
            if (_faults.TakeFailure(action) is { } injected)
                throw new SsmError(injected.Code, injected.Message, injected.HttpStatus);
            return new Reply(200, SsmApi.ContentType, _ssm.Handle(action, region, body), null);
        }
        catch (SsmError e)
        {
            return new Reply(e.HttpStatus, SsmApi.ContentType, e.ToJson(), e.Code);
        }
        catch (Ec2Error e) // e.g. an unknown region from Ec2State.Region
        {
            return new Reply(e.HttpStatus, SsmApi.ContentType, new SsmError(e.Code, e.Message, e.HttpStatus).ToJson(), e.Code);
        }
        catch (Exception e)
        {
            lock (_unhandled) _unhandled.Add(e);
            return new Reply(500, SsmApi.ContentType, new SsmError("InternalServerError", "Emulator failure: " + e.Message, 500).ToJson(), "InternalServerError");
        }
    }
}
