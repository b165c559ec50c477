using OpenBsdBuild.Emulation.Wire;

namespace OpenBsdBuild.Emulation;

/// <summary>
/// Failures a test has asked for. Scripted errors are consumed in the order they were queued,
/// one per matching request, before the request reaches its handler — so a burst of
/// RequestLimitExceeded also eats the SDK's own retries, as real throttling does.
/// </summary>
internal sealed class FaultPlan
{
    private readonly object _lock = new();
    private readonly List<ScriptedFailure> _scripted = [];
    private readonly HashSet<(string InstanceType, string? Zone)> _noCapacity = [];
    private volatile bool _stuckPending;

    private sealed class ScriptedFailure(string action, string code, string message, int remaining, int? status)
    {
        public string Action { get; } = action;
        public string Code { get; } = code;
        public string Message { get; } = message;
        public int? Status { get; } = status;
        public int Remaining { get; set; } = remaining;
    }

    private volatile string? _latestConsoleRefusal;

    /// <summary>The error code GetConsoleOutput answers when asked for Latest=true, or null to serve it.</summary>
    public string? LatestConsoleRefusal
    {
        get => _latestConsoleRefusal;
        set => _latestConsoleRefusal = value;
    }

    public bool StuckPending
    {
        get => _stuckPending;
        set => _stuckPending = value;
    }

    public void FailNext(string action, string code, string? message, int count, int? httpStatus)
    {
        ArgumentException.ThrowIfNullOrEmpty(action);
        ArgumentException.ThrowIfNullOrEmpty(code);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        lock (_lock) _scripted.Add(new ScriptedFailure(action, code, message ?? DefaultMessage(code), count, httpStatus));
    }

    /// <summary>Consumes one scripted failure for <paramref name="action"/> ("*" in FailNext matches any action).</summary>
    public Ec2Error? TakeFailure(string action)
    {
        lock (_lock)
        {
            var hit = _scripted.FirstOrDefault(f => f.Action == "*" || string.Equals(f.Action, action, StringComparison.Ordinal));
            if (hit is null) return null;
            if (--hit.Remaining == 0) _scripted.Remove(hit);
            return new Ec2Error(hit.Code, hit.Message, hit.Status);
        }
    }

    private readonly Dictionary<string, int> _lostAnswers = [];

    public void LoseAnswers(string action, int count)
    {
        ArgumentException.ThrowIfNullOrEmpty(action);
        lock (_lock) _lostAnswers[action] = count;
    }

    /// <summary>Whether this <paramref name="action"/>'s answer, its request carried out, is to be lost.</summary>
    public bool TakeLostAnswer(string action)
    {
        lock (_lock)
        {
            if (!_lostAnswers.TryGetValue(action, out int left) || left == 0) return false;
            _lostAnswers[action] = left - 1;
            return true;
        }
    }

    private int _pages;
    private int _pageStatus;

    public void ServeErrorPage(int httpStatus, int count)
    {
        lock (_lock) { _pageStatus = httpStatus; _pages = count; }
    }

    /// <summary>The status of an HTML error page to serve instead of handling the request, if one is due.</summary>
    public int? TakeErrorPage()
    {
        lock (_lock)
        {
            if (_pages == 0) return null;
            _pages--;
            return _pageStatus;
        }
    }

    public int PendingFailures
    {
        get { lock (_lock) return _scripted.Sum(f => f.Remaining); }
    }

    public void ClearFailures()
    {
        lock (_lock) _scripted.Clear();
    }

    public void SetCapacity(string instanceType, string? zone, bool available)
    {
        lock (_lock)
        {
            if (available) _noCapacity.Remove((instanceType, zone));
            else _noCapacity.Add((instanceType, zone));
        }
    }

    public bool HasCapacity(string instanceType, string zone)
    {
        lock (_lock) return !_noCapacity.Contains((instanceType, null)) && !_noCapacity.Contains((instanceType, zone));
    }

    private static string DefaultMessage(string code) => code switch
    {
        "RequestLimitExceeded" => "Request limit exceeded.",
        "InsufficientInstanceCapacity" => "Insufficient capacity.",
        "InternalError" => "An internal error has occurred",
        "Unavailable" => "The server is overloaded and can't handle the request.",
        _ => $"Injected {code}.",
    };
}
