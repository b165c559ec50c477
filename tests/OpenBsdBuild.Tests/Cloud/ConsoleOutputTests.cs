using System;
using System.Text;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using Xunit;
using OpenBsdBuild.Emulation;

namespace OpenBsdBuild.Tests.Cloud;

/// <summary>
/// GetConsoleOutput in the EC2 emulator behaves as the EC2 API reference says (docs/compatibility.md,
/// "AWS APIs"): without Latest, the output buffered right after the last state transition; with
/// Latest=true, the console as it is now; only the last 64 KB either way.
/// </summary>
public sealed class ConsoleOutputTests : IAsyncLifetime
{
    private Ec2Emulator _emulator = null!;
    private string _console = "";

    public async Task InitializeAsync()
    {
        _emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions());
        _emulator.ConsoleOutputProvider = _ => _console;
    }

    public async Task DisposeAsync()
    {
        var bugs = _emulator.UnhandledExceptions;
        await _emulator.DisposeAsync();
        Assert.Empty(bugs);
    }

    private AmazonEC2Client Ec2() => new(new BasicAWSCredentials("AKIDEXAMPLE", "secret"),
        new AmazonEC2Config { ServiceURL = _emulator.Endpoint.ToString(), AuthenticationRegion = "us-east-1" });

    private async Task<string> LaunchRunningAsync(AmazonEC2Client ec2)
    {
        string image = _emulator.GetSsmParameter("/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id", "us-east-1")!;
        var run = await ec2.RunInstancesAsync(new RunInstancesRequest { ImageId = image, InstanceType = "c7g.metal", MinCount = 1, MaxCount = 1 });
        string id = run.Reservation.Instances[0].InstanceId;
        Assert.Contains(_emulator.Instances.Values, i => i.InstanceId == id && i.State == EmulatedInstanceState.Running);
        return id;
    }

    private static async Task<string> ReadAsync(AmazonEC2Client ec2, string id, bool latest)
    {
        var r = await ec2.GetConsoleOutputAsync(new GetConsoleOutputRequest { InstanceId = id, Latest = latest });
        return string.IsNullOrEmpty(r.Output) ? "" : Encoding.UTF8.GetString(Convert.FromBase64String(r.Output));
    }

    [Fact]
    public async Task Without_Latest_only_the_output_posted_after_the_transition_comes_back()
    {
        _console = "[    0.000000] Booting Linux on physical CPU 0x0\n";
        using var ec2 = Ec2();
        string id = await LaunchRunningAsync(ec2);
        _console += "cloud-init[901]: user data: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n";

        Assert.Equal("[    0.000000] Booting Linux on physical CPU 0x0\n", await ReadAsync(ec2, id, latest: false));
        Assert.Equal(_console, await ReadAsync(ec2, id, latest: true));
    }

    [Fact]
    public async Task Latest_can_be_refused_while_the_buffered_output_still_answers()
    {
        _console = "[    0.000000] Booting Linux on physical CPU 0x0\n";
        using var ec2 = Ec2();
        string id = await LaunchRunningAsync(ec2);
        _emulator.RefuseLatestConsoleOutput();

        var refused = await Assert.ThrowsAsync<AmazonEC2Exception>(() => ReadAsync(ec2, id, latest: true));
        Assert.Equal("UnsupportedOperation", refused.ErrorCode);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal(_console, await ReadAsync(ec2, id, latest: false));
    }

    [Fact]
    public async Task Only_the_last_64_KB_are_kept()
    {
        using var ec2 = Ec2();
        string id = await LaunchRunningAsync(ec2);
        _console = new string('a', 70_000) + "the end\n";

        string latest = await ReadAsync(ec2, id, latest: true);
        Assert.Equal(64 * 1024, latest.Length);
        Assert.EndsWith("the end\n", latest);
    }
}
