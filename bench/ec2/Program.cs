using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using System.Diagnostics;
using Amazon.EC2;
using Amazon.EC2.Model;
using Amazon.Runtime;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;

// 1. Zero delays: wall time and API calls of New → Remove (engine, real SDK over HTTP, netns sshd as the instance).
// 2. 5 s emulated pending and shutting-down: how late each state change is seen, by our 1 s fixed-schedule
//    waiter and by an AWS CLI-style waiter that sleeps 15 s between polls, in the same run.
int rounds = args.Length > 0 ? int.Parse(args[0]) : 5;
var aws = new Func<Ec2Emulator, AwsConnectionOptions>(e => new AwsConnectionOptions
{
    Region = "us-east-1", AccessKey = "AKIDEXAMPLE", SecretKey = "secret", EndpointUrl = e.Endpoint,
});

using var ssh = new NetnsSshHost();
{
    await using var emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions());
    emulator.AddressProvider = _ => (ssh.Address, null);
    emulator.ConsoleOutputProvider = _ => ConsoleText.With(ssh.HostKeyFingerprint);
    await using var booter = new InstanceBooter(emulator, ssh);
    var walls = new List<double>();
    IReadOnlyDictionary<string, int>? counts = null;
    for (int i = 0; i < rounds; i++)
    {
        emulator.ResetCounters();
        var watch = Stopwatch.StartNew();
        var host = await Ec2HostLauncher.LaunchAsync(aws(emulator), new LaunchRequest
        {
            AllowedCidr = "198.51.100.7/32", SshUser = "root", StateDirectory = booter.StateDirectory + "/guests",
        }, NullReporter.Instance, CancellationToken.None);
        host.Shell.Dispose();
        var report = await Ec2Teardown.RemoveAsync(aws(emulator), host.InstanceId!, wait: true, null, NullReporter.Instance, CancellationToken.None);
        walls.Add(watch.Elapsed.TotalMilliseconds);
        counts = emulator.ActionCounts;
        Console.WriteLine($"round {i + 1}: New → Remove -Wait {watch.Elapsed.TotalMilliseconds:0} ms, {counts.Values.Sum()} API calls ({report.State})");
    }
    walls.Sort();
    Console.WriteLine($"zero delays: median {walls[walls.Count / 2]:0} ms over {rounds} rounds; calls per run: " +
                      string.Join(", ", counts!.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}")) + $" = {counts!.Values.Sum()}");
}

{
    var delay = TimeSpan.FromSeconds(5);
    await using var emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions { PendingDelay = delay, ShuttingDownDelay = delay });
    using var ec2 = new AmazonEC2Client(new BasicAWSCredentials("AKIDEXAMPLE", "secret"),
        new AmazonEC2Config { ServiceURL = emulator.Endpoint.ToString(), AuthenticationRegion = "us-east-1" });
    string image = emulator.GetSsmParameter(LaunchPlan.SsmParameterFor("arm64"))!;

    async Task<(double Running, double Terminated, int Calls)> Measure(Func<string, InstanceStateName, Task> wait)
    {
        emulator.ResetCounters();
        var id = (await ec2.RunInstancesAsync(new RunInstancesRequest { ImageId = image, InstanceType = "a1.metal", MinCount = 1, MaxCount = 1 })).Reservation.Instances[0].InstanceId;
        var w = Stopwatch.StartNew();
        await wait(id, InstanceStateName.Running);
        double running = w.Elapsed.TotalSeconds - delay.TotalSeconds;
        await ec2.TerminateInstancesAsync(new TerminateInstancesRequest { InstanceIds = [id] });
        w.Restart();
        await wait(id, InstanceStateName.Terminated);
        double terminated = w.Elapsed.TotalSeconds - delay.TotalSeconds;
        return (running, terminated, emulator.CountOf("DescribeInstances"));
    }

    var ours = await Measure((id, state) => InstanceWaiter.WaitAsync(ec2, id, "bench", i => i.State.Name == state, null,
        TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(1), null, CancellationToken.None));
    var naive = await Measure(async (id, state) =>
    {
        while ((await InstanceWaiter.DescribeAsync(ec2, id, CancellationToken.None))?.State.Name != state)
            await Task.Delay(TimeSpan.FromSeconds(15));
    });
    // A 5 s delay lands exactly on our 1 s grid; a 5.5 s one shows the off-grid case.
    emulator.PendingDelay = emulator.ShuttingDownDelay = delay = TimeSpan.FromSeconds(5.5);
    var offGrid = await Measure((id, state) => InstanceWaiter.WaitAsync(ec2, id, "bench", i => i.State.Name == state, null,
        TimeSpan.FromMinutes(2), TimeSpan.FromSeconds(1), null, CancellationToken.None));
    Console.WriteLine($"5.5 s emulated delays, detection late by: ours pending→running {offGrid.Running:0.00} s, shutting-down→terminated {offGrid.Terminated:0.00} s ({offGrid.Calls} DescribeInstances)");
    Console.WriteLine($"5 s emulated delays, detection late by: ours pending→running {ours.Running:0.00} s, shutting-down→terminated {ours.Terminated:0.00} s ({ours.Calls} DescribeInstances)");
    Console.WriteLine($"                                   15 s waiter pending→running {naive.Running:0.00} s, shutting-down→terminated {naive.Terminated:0.00} s ({naive.Calls} DescribeInstances)");
}
