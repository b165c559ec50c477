using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Flow;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;

/// <summary>
/// The two roads to a build machine, same run, same emulated boot: New-OpenBsdInstance's engine until its
/// OpenBsdInstance returns, and New-MetalHost's until its MetalHost returns. The real AWS SDK talks to the
/// EC2 emulator; a netns sshd is the instance (the metal road's user data really runs there); the console
/// shows nothing until <see cref="Boot"/> after the instance is running, which is what "boot" costs both.
/// What each road adds beyond that is the module's own overhead (polling, SSH, the metal bootstrap).
/// </summary>
internal static class NativeReadiness
{
    public static readonly TimeSpan Boot = TimeSpan.FromSeconds(60);

    public static async Task RunAsync(int rounds)
    {
        using var ssh = new NetnsSshHost();
        await using var emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions { ConsoleOutputDelay = Boot });
        emulator.AddressProvider = _ => (ssh.Address, null);
        emulator.ConsoleOutputProvider = _ => ConsoleText.With(ssh.HostKeyFingerprint);
        emulator.AddImage(new EmulatedImage("ami-0a1b2c3d4e5f60718", "us-east-1", "openbsd-7.8-arm64-ena", "123456789012", "arm64", DateTimeOffset.UtcNow));
        await using var booter = new InstanceBooter(emulator, ssh);
        var aws = new AwsConnectionOptions { Region = "us-east-1", AccessKey = "AKIDEXAMPLE", SecretKey = "secret", EndpointUrl = emulator.Endpoint };
        var native = new List<double>();
        var metal = new List<double>();
        for (int i = 0; i < rounds; i++)
        {
            var sw = Stopwatch.StartNew();
            var instance = await NativeInstanceLauncher.LaunchAsync(aws, new LaunchRequest
            {
                ImageId = "ami-0a1b2c3d4e5f60718", InstanceTypes = new[] { "c6g.xlarge" }, AllowedCidr = "198.51.100.7/32", SshUser = "root",
            }, NullReporter.Instance, CancellationToken.None);
            native.Add(sw.Elapsed.TotalSeconds);
            instance.Shell?.Dispose();
            await Ec2Teardown.RemoveAsync(aws, instance.InstanceId!, wait: true, null, NullReporter.Instance, CancellationToken.None);

            sw.Restart();
            var host = await Ec2HostLauncher.LaunchAsync(aws, new LaunchRequest
            {
                AllowedCidr = "198.51.100.7/32", SshUser = "root", StateDirectory = booter.StateDirectory + "/guests",
            }, NullReporter.Instance, CancellationToken.None);
            metal.Add(sw.Elapsed.TotalSeconds);
            host.Shell.Dispose();
            await Ec2Teardown.RemoveAsync(aws, host.InstanceId!, wait: true, null, NullReporter.Instance, CancellationToken.None);
            Console.WriteLine($"round {i + 1}: New-OpenBsdInstance to ready {native[^1]:0.00} s, New-MetalHost to ready {metal[^1]:0.00} s (emulated boot {Boot.TotalSeconds:0} s)");
        }
        double n = Bench.Median(native), m = Bench.Median(metal);
        Console.WriteLine($"median over {rounds}: New-OpenBsdInstance {n:0.00} s ({n - Boot.TotalSeconds:0.00} s beyond the boot), " +
                          $"New-MetalHost {m:0.00} s ({m - Boot.TotalSeconds:0.00} s beyond the boot)");
    }
}
