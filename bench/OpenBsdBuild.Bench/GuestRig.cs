using System;
using System.IO;
using System.Threading.Tasks;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

// What users meet: the test guest (real QEMU arm64 under TCG, dropbear, busybox) started by
// Start-OpenBsdGuest on a netns sshd host, so it is reachable only by jumping through that sshd.
// The guest's own CPU does its half of the SSH crypto, as an OpenBSD guest's does.
sealed class GuestRig : IDisposable
{
    private readonly PsSession _ps = new PsSession();

    public NetnsSshHost Host { get; } = new NetnsSshHost();
    public OpenBsdGuest Guest { get; }
    public TestGuestImage.Built Image { get; } = TestGuestImage.Get();
    /// <summary>ssh_config for the OpenSSH baseline: "guest" jumps through "jump", OpenSSH defaults otherwise.</summary>
    public string SshConfig { get; }

    /// <summary>The guest's vCPUs when the command line says cpus=N; otherwise what Start-OpenBsdGuest gives users by default.</summary>
    public static int? Cpus { get; set; }

    public GuestRig(int memoryMB = 1536)
    {
        var r = _ps.Run($"{Host.ConnectCommand} | Start-OpenBsdGuest -Name bench -Image '{Image.Path}' -KeyFile '{Image.KeyFile}' -Memory {memoryMB}MB" + (Cpus is int n ? $" -CpuCount {n}" : ""));
        if (r.HadErrors) throw new Exception("The bench guest did not start: " + r.Describe());
        Guest = r.Single<OpenBsdGuest>();
        Console.WriteLine($"The bench guest: {Guest.CpuCount} vCPUs, {Guest.Accelerator}");
        SshConfig = Path.Combine(Host.Directory, "ssh_config");
        File.WriteAllText(SshConfig,
            $"Host jump\n  HostName {Host.Address}\n  User root\n  IdentityFile {Host.KeyFile}\n" +
            $"Host guest\n  HostName 127.0.0.1\n  Port {Guest.SshPort}\n  User {Guest.User}\n  IdentityFile {Image.KeyFile}\n  ProxyJump jump\n" +
            "Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  IdentitiesOnly yes\n");
    }

    /// <summary>A session to the guest made exactly as Invoke-GuestBuild makes it (a jump through the host's session).</summary>
    public Task<SshShell> ConnectGuestAsync() =>
        SshShell.ConnectAsync(new SshTarget("127.0.0.1", Guest.SshPort, Guest.User, Guest.KeyFile!, HostKeyPolicy.Pinned(new[] { Guest.HostKeyFingerprint! })) { Name = Guest.Name },
            default, Guest.Host.Shell);

    /// <summary>A direct session to the jump host itself (its sshd is the native far end).</summary>
    public Task<SshShell> ConnectHostAsync() =>
        SshShell.ConnectAsync(new SshTarget(Host.Address, 22, "root", Host.KeyFile, HostKeyPolicy.Pinned(new[] { Host.HostKeyFingerprint })), default);

    public void Dispose()
    {
        _ps.Set("g", Guest);
        _ps.Run("$g.Host | Remove-MetalHost");
        _ps.Dispose();
        Host.Dispose();
    }
}
