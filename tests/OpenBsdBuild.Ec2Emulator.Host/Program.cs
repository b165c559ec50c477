using System.Text.Json;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Tests.Cloud;
using OpenBsdBuild.Tests.Fixtures;

// dotnet OpenBsdBuild.Ec2Emulator.Host.dll [--pending-delay <seconds>] [--shutting-down-delay <seconds>]
//     [--region <name>]... [--object-store <s3 endpoint>] [--metal]
// --region adds a region (zones a, b, c) to the two seeded ones; --object-store is where ImportSnapshot reads images.
// --metal puts a host behind every instance, as xunit's Ec2Lab does: a netns sshd (root login) at the instance's
// address, its host key on the console, and the user data run there when the instance is running (InstanceBooter).
// First line of stdout: the endpoint (http://127.0.0.1:PORT/), for -EndpointUrl; with --metal a second line, JSON:
// the host's Address, OuterAddress (this machine on the veth link), HostKeyFingerprint, KeyFile and StateDirectory.
// Lines on stdin script faults (see Control below); closing stdin stops it, so a test that dies takes the emulator with it.
var options = new Ec2EmulatorOptions();
bool metal = false;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--metal") { metal = true; continue; }
    if (i + 1 >= args.Length) { Console.Error.WriteLine($"option {args[i]} needs a value"); return 2; }
    switch (args[i])
    {
        case "--pending-delay": options.PendingDelay = TimeSpan.FromSeconds(double.Parse(args[++i])); break;
        case "--shutting-down-delay": options.ShuttingDownDelay = TimeSpan.FromSeconds(double.Parse(args[++i])); break;
        case "--region": string region = args[++i]; options.Regions[region] = [region + "a", region + "b", region + "c"]; break;
        case "--object-store": options.ObjectStore = new Uri(args[++i]); break;
        default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
    }
}
await using var emulator = await Ec2Emulator.StartAsync(options);
NetnsSshHost? ssh = null;
InstanceBooter? booter = null;
try
{
    Console.WriteLine(emulator.Endpoint);
    if (metal)
    {
        ssh = new NetnsSshHost();
        emulator.AddressProvider = _ => (ssh.Address, null);
        emulator.ConsoleOutputProvider = _ => ConsoleText.With(ssh.HostKeyFingerprint);
        booter = new InstanceBooter(emulator, ssh);
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            ssh.Address, ssh.OuterAddress, ssh.HostKeyFingerprint, ssh.KeyFile, booter.StateDirectory,
        }));
    }
    Console.Out.Flush();
    while (await Console.In.ReadLineAsync() is { } line)
    {
        string answer;
        try { answer = Control(emulator, line.Split(' ', StringSplitOptions.RemoveEmptyEntries)); }
        catch (Exception ex) when (ex is FormatException or ArgumentException or IndexOutOfRangeException) { answer = "error " + ex.Message; }
        Console.WriteLine(answer);
        Console.Out.Flush();
    }
}
finally
{
    if (booter != null) await booter.DisposeAsync();
    // Whatever still runs on the host (a test that failed before its teardown) ends with it.
    if (ssh != null)
    {
        foreach (int pid in Tools.QemuProcesses(booter!.StateDirectory)) Tools.Sh($"kill -9 {pid}", allowFailure: true);
        ssh.Dispose();
    }
}
return emulator.UnhandledExceptions.Count == 0 ? 0 : 1;

// One line of the control script, answered with one line ("ok [answer]" or "error <why>"), so the caller knows it
// applies from its next request:
//   fail <Action|*> <ErrorCode> [<count> [<http status>]]   the next requests for the action fail (Ec2Emulator.FailNext)
//   capacity <instance type> <zone|*> none|ok                 RunInstances of the type has no capacity there, or has again
//   page <http status> <count>                                the next requests get a proxy's HTML error page (Ec2Emulator.ServeErrorPage)
//   clear                                                     forgets scripted failures and error pages not yet served
//   count <Action>                                            "ok <n>": how many requests for the action were answered
//   object-store <s3 endpoint>                                where ImportSnapshot reads images from now on (--object-store)
//   copy-image <region> <ami id> <new ami id>                 the account also holds a copy of that AMI under an id the
//                                                             test names (as a page's example does; EC2 assigns ids itself)
static string Control(Ec2Emulator emulator, string[] words)
{
    switch (words.FirstOrDefault())
    {
        case "fail":
            emulator.FailNext(words[1], words[2], count: words.Length > 3 ? int.Parse(words[3]) : 1,
                httpStatus: words.Length > 4 ? int.Parse(words[4]) : null);
            return "ok";
        case "capacity":
            emulator.InsufficientCapacity(words[1], words[2] == "*" ? null : words[2], insufficient: words[3] == "none");
            return "ok";
        case "page":
            emulator.ServeErrorPage(int.Parse(words[1]), int.Parse(words[2]));
            return "ok";
        case "count":
            return "ok " + emulator.CountOf(words[1]);
        case "object-store":
            emulator.ObjectStore = new Uri(words[1]);
            return "ok";
        case "copy-image":
            var source = emulator.RegisteredImages.Values.Concat(emulator.Images).FirstOrDefault(i => i.Region == words[1] && i.ImageId == words[2])
                ?? throw new ArgumentException($"no image {words[2]} in {words[1]}");
            emulator.AddImage(source with { ImageId = words[3] });
            return "ok";
        case "clear":
            emulator.ClearFailures();
            emulator.ServeErrorPage(0, 0);
            return "ok";
        default:
            return $"error unknown command '{string.Join(' ', words)}'";
    }
}
