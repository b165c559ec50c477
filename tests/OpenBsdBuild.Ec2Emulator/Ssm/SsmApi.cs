using System.Text.Json;
using System.Text.Json.Nodes;
using OpenBsdBuild.Emulation.Model;

namespace OpenBsdBuild.Emulation.Ssm;

/// <summary>An SSM error: JSON <c>{"__type": code, "message": …}</c> with an HTTP status.</summary>
internal sealed class SsmError(string code, string message, int httpStatus = 400) : Exception(message)
{
    public string Code { get; } = code;
    public int HttpStatus { get; } = httpStatus;

    public string ToJson() => new JsonObject { ["__type"] = Code, ["message"] = Message }.ToJsonString();
}

/// <summary>
/// The slice of SSM the module uses: Parameter Store reads of the public AMI parameters,
/// over the JSON 1.1 protocol (<c>X-Amz-Target: AmazonSSM.GetParameter</c>).
/// Parameters are per region, like the AMIs they name.
/// </summary>
internal sealed class SsmApi(Ec2State state)
{
    public const string TargetPrefix = "AmazonSSM.";
    public const string ContentType = "application/x-amz-json-1.1";

    public static readonly string[] Actions = ["GetParameter", "GetParameters"];

    public string Handle(string action, string region, string body)
    {
        JsonNode? request;
        try { request = string.IsNullOrWhiteSpace(body) ? new JsonObject() : JsonNode.Parse(body); }
        catch (JsonException) { throw new SsmError("SerializationException", "Unable to parse request body as JSON"); }
        if (request is not JsonObject json) throw new SsmError("SerializationException", "Request body must be a JSON object");

        lock (state.Gate)
        {
            var parameters = state.Region(region).SsmParameters;
            return action switch
            {
                "GetParameter" => GetParameter(json, region, parameters),
                "GetParameters" => GetParameters(json, region, parameters),
                _ => throw new SsmError("UnknownOperationException", $"Operation {action} is not supported by this emulator"),
            };
        }
    }

    private static string GetParameter(JsonObject request, string region, Dictionary<string, string> parameters)
    {
        var name = request["Name"]?.GetValue<string>()
                   ?? throw new SsmError("ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null");
        if (!parameters.TryGetValue(name, out var value))
            throw new SsmError("ParameterNotFound", $"Parameter {name} not found.");
        return new JsonObject { ["Parameter"] = ParameterJson(region, name, value) }.ToJsonString();
    }

    private static string GetParameters(JsonObject request, string region, Dictionary<string, string> parameters)
    {
        var names = request["Names"]?.AsArray().Select(n => n!.GetValue<string>()).ToList()
                    ?? throw new SsmError("ValidationException", "1 validation error detected: Value null at 'names' failed to satisfy constraint: Member must not be null");
        var found = new JsonArray();
        var invalid = new JsonArray();
        foreach (var name in names)
        {
            if (parameters.TryGetValue(name, out var value)) found.Add(ParameterJson(region, name, value));
            else invalid.Add(name);
        }
        return new JsonObject { ["Parameters"] = found, ["InvalidParameters"] = invalid }.ToJsonString();
    }

    private static JsonObject ParameterJson(string region, string name, string value) => new()
    {
        ["ARN"] = $"arn:aws:ssm:{region}::parameter{name}",
        ["DataType"] = value.StartsWith("ami-", StringComparison.Ordinal) ? "aws:ec2:image" : "text",
        ["LastModifiedDate"] = 1736899200.0, // 2025-01-15T00:00:00Z as epoch seconds, the JSON protocol's timestamp form
        ["Name"] = name,
        ["Type"] = "String",
        ["Value"] = value,
        ["Version"] = 1,
    };
}
