using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Runtime.Loader;

// Usage: OpenBsdBuild.IsolationHost <module manifest> <script>
// Prints "loaded <assembly> <version> <load context>" for the contested assemblies, then each output
// object and error of the script; exits 1 when the script had errors.
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: OpenBsdBuild.IsolationHost <module manifest> <script>");
    return 2;
}

// What another module would have done first: load its own versions into the default context.
_ = typeof(Amazon.Runtime.AWSCredentials).Assembly;
_ = typeof(Renci.SshNet.SshClient).Assembly;

using var runspace = RunspaceFactory.CreateRunspace(InitialSessionState.CreateDefault2());
runspace.Open();
using var ps = PowerShell.Create();
ps.Runspace = runspace;
ps.AddScript($"Import-Module '{args[0]}' -ErrorAction Stop\n{args[1]}");
int status = 0;
try
{
    foreach (var o in ps.Invoke()) Console.WriteLine("output " + o);
}
catch (RuntimeException ex)
{
    Console.WriteLine("error " + ex.ErrorRecord.FullyQualifiedErrorId + ": " + ex.Message);
    status = 1;
}
foreach (var e in ps.Streams.Error)
{
    Console.WriteLine("error " + e.FullyQualifiedErrorId + ": " + e.Exception.Message);
    status = 1;
}
foreach (var a in AppDomain.CurrentDomain.GetAssemblies())
{
    string? name = a.GetName().Name;
    if (name is "AWSSDK.Core" or "AWSSDK.EC2" or "Renci.SshNet" or "OpenBsdBuild.Engine" or "OpenBsdBuild.Model")
        Console.WriteLine($"loaded {name} {a.GetName().Version} {AssemblyLoadContext.GetLoadContext(a)?.GetType().Name}");
}
return status;
