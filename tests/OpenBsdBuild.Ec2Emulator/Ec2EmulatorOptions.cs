namespace OpenBsdBuild.Emulation;

public sealed class Ec2EmulatorOptions
{
    /// <summary>Region used when a request carries no SigV4 credential scope.</summary>
    public string DefaultRegion { get; set; } = "us-east-1";

    /// <summary>Regions and their availability zones. Each gets a default VPC with one subnet per zone, plus a second VPC.</summary>
    public IDictionary<string, string[]> Regions { get; set; } = new Dictionary<string, string[]>
    {
        ["us-east-1"] = ["us-east-1a", "us-east-1b", "us-east-1c"],
        ["eu-west-1"] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
    };

    public string AccountId { get; set; } = "123456789012";

    /// <summary>How long a new instance stays pending. Zero: running on the next request that looks.</summary>
    public TimeSpan PendingDelay { get; set; } = TimeSpan.Zero;

    /// <summary>How long a terminating instance stays shutting-down. Zero: terminated on the next request that looks.</summary>
    public TimeSpan ShuttingDownDelay { get; set; } = TimeSpan.Zero;

    /// <summary>How long after reaching running GetConsoleOutput still returns no output (as on EC2, where it lags boot).</summary>
    public TimeSpan ConsoleOutputDelay { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The S3 endpoint (e.g. a test's s3rver) ImportSnapshot reads disk images from. The object must exist
    /// when the import starts and every time the task is looked at until it completes.
    /// </summary>
    public Uri? ObjectStore { get; set; }

    /// <summary>How long an ImportSnapshot task takes from pending to completed. Zero: completed on the next look.</summary>
    public TimeSpan ImportDelay { get; set; } = TimeSpan.Zero;

    /// <summary>Clock for launch times and delays.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Seed for generated resource ids, so runs are reproducible.</summary>
    public int Seed { get; set; } = 20250101;
}
