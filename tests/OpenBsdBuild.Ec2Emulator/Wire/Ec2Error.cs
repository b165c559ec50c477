using System.Security;

namespace OpenBsdBuild.Emulation.Wire;

/// <summary>
/// An EC2 API error: thrown by handlers, turned into the Query-protocol error document
/// <c>&lt;Response&gt;&lt;Errors&gt;&lt;Error&gt;…</c> with the HTTP status EC2 uses.
/// </summary>
internal sealed class Ec2Error : Exception
{
    public Ec2Error(string code, string message, int? httpStatus = null)
        : base(message)
    {
        Code = code;
        HttpStatus = httpStatus ?? DefaultStatus(code);
    }

    public string Code { get; }
    public int HttpStatus { get; }

    /// <summary>
    /// Client errors are 400. The server-side codes below are the 5xx ones; the statuses are the
    /// ones AWS is seen returning (RequestLimitExceeded is 503, InsufficientInstanceCapacity 500).
    /// Both are retried by the SDK's default retry policy before a caller sees them.
    /// </summary>
    public static int DefaultStatus(string code) => code switch
    {
        "RequestLimitExceeded" or "Unavailable" or "ServiceUnavailable" => 503,
        "InsufficientInstanceCapacity" or "InsufficientHostCapacity" or "InsufficientReservedInstanceCapacity"
            or "InternalError" or "InsufficientAddressCapacity" or "InsufficientCapacity" => 500,
        "AuthFailure" => 401,
        "UnauthorizedOperation" => 403,
        "DryRunOperation" => 412,
        _ => 400,
    };

    public string ToXml(string requestId) =>
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" +
        $"<Response><Errors><Error><Code>{Escape(Code)}</Code><Message>{Escape(Message)}</Message></Error></Errors>" +
        $"<RequestID>{Escape(requestId)}</RequestID></Response>";

    private static string Escape(string s) => SecurityElement.Escape(s) ?? "";

    public static Ec2Error MissingParameter(string name) =>
        new("MissingParameter", $"The request must contain the parameter {name}");

    public static Ec2Error InvalidParameterValue(string message) => new("InvalidParameterValue", message);

    public static Ec2Error InvalidParameterCombination(string message) => new("InvalidParameterCombination", message);

    /// <summary>EC2 words "not found" for one id and for several differently.</summary>
    public static Ec2Error NotFound(string code, string noun, IReadOnlyCollection<string> ids) =>
        ids.Count == 1
            ? new(code, $"The {noun} ID '{ids.First()}' does not exist")
            : new(code, $"The {noun} IDs '{string.Join(", ", ids)}' do not exist");
}
