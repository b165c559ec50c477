using System;

namespace OpenBsdBuild.Errors
{
    /// <summary>What kind of failure this is; the cmdlet layer maps it to a PowerShell ErrorCategory.</summary>
    public enum FailureKind
    {
        InvalidArgument,
        ObjectNotFound,
        InvalidData,
        InvalidOperation,
        InvalidResult,
        ResourceUnavailable,
        ResourceExists,
        ConnectionError,
        AuthenticationError,
        SecurityError,
        PermissionDenied,
        OperationTimeout,
        OperationStopped,
        LimitsExceeded,
        NotInstalled,
        NotImplemented,
        WriteError,
        ReadError,
        FromStdErr,
    }

    /// <summary>
    /// The one exception the engine throws for failures a user can act on. Carries a stable
    /// error id (becomes OpenBsdBuild.&lt;Id&gt;), the kind, the object concerned and what to do.
    /// </summary>
    public class OpenBsdBuildException : Exception
    {
        public OpenBsdBuildException(string errorId, FailureKind kind, string message,
            object? target = null, string? recommendedAction = null, Exception? inner = null)
            : base(message, inner)
        {
            ErrorId = errorId;
            Kind = kind;
            Target = target;
            RecommendedAction = recommendedAction;
        }

        /// <summary>Short id such as "GuestNotReady"; the cmdlet layer prefixes "OpenBsdBuild.".</summary>
        public string ErrorId { get; }
        public FailureKind Kind { get; }
        public object? Target { get; }
        public string? RecommendedAction { get; }

        /// <summary>A parameter-level failure, raised before anything is created.</summary>
        public static OpenBsdBuildException BadParameter(string parameter, object? value, string problem, string fix) =>
            new OpenBsdBuildException("InvalidParameter." + parameter, FailureKind.InvalidArgument,
                $"-{parameter} '{value}': {problem}", value, fix);
    }
}
