using System;
using System.IO;
using System.Threading;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;

// A jump rig: a netns sshd is the host, a second sshd on its loopback (port 2222) plays the guest,
// reached only through the host, as a real guest is. No emulated crypto, so the link is measured.
sealed class JumpRig : IDisposable
{
    public NetnsSshHost Host { get; } = new NetnsSshHost();
    public SshShell Jump { get; }
    public SshShell GuestShell { get; }
    public OpenBsdGuest Guest { get; }
    public string SshConfig { get; }

    /// <param name="hostHop">The jump's far end: LinuxHost gives it the cipher order Connect-MetalHost gives a real host.</param>
    public JumpRig(SshFarEnd hostHop = SshFarEnd.BuildMachine)
    {
        string d = Host.Directory;
        File.WriteAllText(Path.Combine(d, "guest_sshd_config"), File.ReadAllText(Path.Combine(d, "sshd_config"))
            .Replace($"ListenAddress {Host.Address}", "ListenAddress 127.0.0.1").Replace("Port 22", "Port 2222").Replace("sshd.pid", "guest_sshd.pid"));
        Host.Exec($"$(command -v sshd || echo /usr/sbin/sshd) -f {d}/guest_sshd_config -E {d}/guest_sshd.log");
        SshConfig = Path.Combine(d, "ssh_config");
        File.WriteAllText(SshConfig, $"Host *\n  User root\n  IdentityFile {Host.KeyFile}\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n");
        Thread.Sleep(500);
        var pin = HostKeyPolicy.Pinned(new[] { Host.HostKeyFingerprint });
        Jump = SshShell.ConnectAsync(new SshTarget(Host.Address, 22, "root", Host.KeyFile, pin) { FarEnd = hostHop }, default).GetAwaiter().GetResult();
        GuestShell = SshShell.ConnectAsync(new SshTarget("127.0.0.1", 2222, "root", Host.KeyFile, pin), default, Jump).GetAwaiter().GetResult();
        var host = OpenBsdBuild.Hosts.HostConnector.ConnectSshAsync(new SshTarget(Host.Address, 22, "root", Host.KeyFile, pin), Host.StateDirectory, NullReporter.Instance, default).GetAwaiter().GetResult();
        Guest = new OpenBsdGuest(host, "rig", Host.StateDirectory + "/guests/rig")
        {
            Shell = GuestShell, User = "root", KeyFile = Host.KeyFile, HostKeyFingerprint = GuestShell.HostKeyFingerprint, SshPort = 2222, State = GuestState.Running,
        };
    }

    /// <summary>The OpenSSH baseline: scp/ssh through the same jump.</summary>
    public string Ssh => $"-F {SshConfig} -J root@{Host.Address}";

    public void Dispose()
    {
        GuestShell.Dispose();
        Jump.Dispose();
        Guest.Host.Shell.Dispose();
        Host.Dispose();
    }
}

