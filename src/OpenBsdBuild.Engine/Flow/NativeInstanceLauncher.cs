using System;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Images;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;

namespace OpenBsdBuild.Flow
{
    /// <summary>
    /// The native road: an OpenBSD AMI with ena(4) launched with the metal road's guarantees
    /// (<see cref="Ec2HostLauncher"/> does the launch), and no Ubuntu, QEMU or jump after it: once its
    /// console has printed the host keys and the build user's SSH answers, the instance is the build machine.
    /// </summary>
    public static class NativeInstanceLauncher
    {
        public const string Activity = "New-OpenBsdInstance";

        public static Task<LaunchPlan> PlanAsync(AwsConnectionOptions connection, LaunchRequest request, IOperationReporter reporter, CancellationToken ct)
        {
            request.Native = true;
            return Ec2HostLauncher.PlanAsync(connection, request, reporter, ct);
        }

        /// <param name="plan">A plan from <see cref="PlanAsync"/> for the same request, so the checks are not repeated.</param>
        public static Task<OpenBsdInstance> LaunchAsync(AwsConnectionOptions connection, LaunchRequest request, IOperationReporter reporter, CancellationToken ct,
            LaunchPlan? plan = null)
        {
            request.Native = true;
            return Ec2HostLauncher.LaunchInstanceAsync(connection, request, Activity, reporter, ct, plan,
                p => UserData(p.Request.MaxLifetime), FinishAsync);
        }

        /// <summary>
        /// What the image's first-boot agent is asked to do (docs/golden-images.md): arm the self-destruct, so
        /// the instance powers itself off after its lifetime and its shutdown behaviour terminates it. Nothing
        /// else runs: the key and the host key fingerprints are the agent's own work.
        /// </summary>
        public static string UserData(TimeSpan maxLifetime) => Ec2Agent.SelfDestructLine(maxLifetime) + "\n";

        private static async Task<OpenBsdInstance> FinishAsync(Ec2HostLauncher.LaunchedInstance li, IOperationReporter reporter, CancellationToken ct)
        {
            reporter.Progress(li.Activity, $"{li.InstanceId}: asking the system what it is");
            ShellResult uname = await li.Shell.RunAsync("uname -srm", ct).ConfigureAwait(false);
            string[] parts = uname.Stdout.Trim().Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
            string architecture = li.Plan.ImageArchitecture == "x86_64" ? "amd64" : "arm64";
            var caps = new HostCapabilities
            {
                Architecture = architecture,
                OperatingSystem = parts.Length > 0 ? parts[0] : "OpenBSD",
                // No guests here: the instance is the build machine (Start-OpenBsdGuest refuses it).
                NativeAccelerator = "none",
            };
            MetalHost host = li.Describe(caps, "");
            var instance = new OpenBsdInstance(host, li.Name)
            {
                State = GuestState.Running,
                ImageId = li.Plan.ImageId,
                Image = li.Plan.ImageId,
                Architecture = architecture,
                OsVersion = parts.Length > 1 ? parts[1] : null,
                Accelerator = "none",
                SshPort = 22,
                User = li.Target.User,
                KeyFile = li.Target.KeyFile,
                HostKeyFingerprint = li.Shell.HostKeyFingerprint,
                StartedAt = host.LaunchTime,
                BootTime = li.SinceLaunch,
            };
            instance.Shell = li.Shell;
            reporter.Verbose($"{li.InstanceId} is ready as {li.Target.User}@{li.Target.Host} ({uname.Stdout.Trim()}) {li.SinceLaunch.TotalSeconds:0.0} s after the launch.");
            return instance;
        }
    }
}
