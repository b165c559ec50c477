using OpenBsdBuild.Emulation;

// dotnet OpenBsdBuild.Ec2Emulator.Host.dll [--pending-delay <seconds>] [--shutting-down-delay <seconds>]
//     [--region <name>]... [--object-store <s3 endpoint>]
// --region adds a region (zones a, b, c) to the two seeded ones; --object-store is where ImportSnapshot reads images.
// First line of stdout: the endpoint (http://127.0.0.1:PORT/), for -EndpointUrl. Closing stdin stops it, so a test
// that dies takes the emulator with it.
var options = new Ec2EmulatorOptions();
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--pending-delay": options.PendingDelay = TimeSpan.FromSeconds(double.Parse(args[i + 1])); break;
        case "--shutting-down-delay": options.ShuttingDownDelay = TimeSpan.FromSeconds(double.Parse(args[i + 1])); break;
        case "--region": string region = args[i + 1]; options.Regions[region] = [region + "a", region + "b", region + "c"]; break;
        case "--object-store": options.ObjectStore = new Uri(args[i + 1]); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}
await using var emulator = await Ec2Emulator.StartAsync(options);
Console.WriteLine(emulator.Endpoint);
await Console.In.ReadToEndAsync();
return 0;
