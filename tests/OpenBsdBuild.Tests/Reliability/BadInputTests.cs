using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Reliability
{
    /// <summary>
    /// Every cmdlet's parameters with values that bind but cannot work: each is refused before
    /// anything is created — no EC2 request at all when the problem is local (the cheap checks come
    /// first), no mutating EC2 call otherwise, no QEMU — with an error that names the parameter,
    /// the bad value and the fix.
    /// </summary>
    public sealed class BadInputTests : IAsyncLifetime
    {
        private Ec2Emulator _emulator = null!;
        private readonly string _state = Directory.CreateTempSubdirectory("obb-badinput-").FullName;

        public async Task InitializeAsync() => _emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions());

        public async Task DisposeAsync()
        {
            await _emulator.DisposeAsync();
            Directory.Delete(_state, true);
        }

        private static readonly string[] Mutating = { "RunInstances", "CreateSecurityGroup", "ImportKeyPair", "TerminateInstances", "DeleteSecurityGroup", "DeleteKeyPair", "CreateTags" };

        /// <summary>Where the problem is found: L = locally, before any EC2 request; A = by a read-only EC2 check.</summary>
        [Theory]
        // Connect-MetalHost
        [InlineData("L", "Connect-MetalHost -HostName 10.0.0.1 -KeyFile {key} -Port 0", "Port", "0")]
        [InlineData("L", "Connect-MetalHost -HostName 10.0.0.1 -KeyFile {key} -ConnectTimeoutSeconds 0", "ConnectTimeoutSeconds", "0")]
        [InlineData("L", "Connect-MetalHost -HostName 10.0.0.1 -KeyFile {key} -HostKeyFingerprint MD5:aa", "HostKeyFingerprint", "MD5:aa")]
        [InlineData("L", "Connect-MetalHost -HostName 10.0.0.1 -KeyFile /nonexistent/key -TrustHostKey", "KeyFile", "/nonexistent/key")]
        // New-MetalHost
        [InlineData("L", "New-MetalHost {aws} -Architecture sparc64", "Architecture", "sparc64")]
        [InlineData("L", "New-MetalHost {aws} -RunningTimeout 00:00:00", "RunningTimeout", "00:00:00")]
        [InlineData("L", "New-MetalHost {aws} -RootVolumeSize 2", "RootVolumeSize", "2")]
        [InlineData("L", "New-MetalHost {aws} -MaxLifetime 00:01:00", "MaxLifetime", "00:01:00")]
        [InlineData("L", "New-MetalHost {aws} -AllowedCidr 0.0.0.0/0", "AllowedCidr", "0.0.0.0/0")]
        [InlineData("L", "New-MetalHost {aws} -KeyName mine", "KeyFile", "")]
        [InlineData("L", "New-MetalHost {aws} -KeyName mine -KeyFile /nonexistent/key", "KeyFile", "/nonexistent/key")]
        [InlineData("L", "New-MetalHost {aws} -Image http://example.com/x.qcow2", "Image", "http://example.com/x.qcow2")]
        [InlineData("L", "New-MetalHost {aws} -PricePerHour -1", "PricePerHour", "-1")]
        [InlineData("L", "New-MetalHost {aws} -Tag @{ 'aws:x' = 1 }", "Tag", "aws:x")]
        [InlineData("A", "New-MetalHost {aws} -InstanceType z9.metal", "InstanceType", "z9.metal")]
        // Get-MetalHost / Remove-MetalHost (the AWS parameters they share)
        [InlineData("L", "Get-MetalHost {aws} -Credential $cred", "Credential", "AKIDCRED")]
        [InlineData("L", "Remove-MetalHost -InstanceId x-1234 {aws}", "InstanceId", "x-1234")]
        [InlineData("L", "$h | Remove-MetalHost -GuestGracePeriod -00:00:01", "GuestGracePeriod", "-00:00:01")]
        // Start-OpenBsdGuest
        [InlineData("L", "$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile {key} -Name 'bad name'", "Name", "bad name")]
        [InlineData("L", "$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile {key} -Memory 1MB", "Memory", "1048576")]
        [InlineData("L", "$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile {key} -CpuCount 0", "CpuCount", "0")]
        [InlineData("L", "$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile {key} -BootTimeout 00:00:00", "BootTimeout", "00:00:00")]
        [InlineData("L", "$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile {key} -SshPort 80", "SshPort", "80")]
        [InlineData("L", "$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile {key} -HostKeyFingerprint nope", "HostKeyFingerprint", "nope")]
        [InlineData("L", "$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile {key} -FirmwareCode /code.fd", "FirmwareVars", "")]
        [InlineData("L", "$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile /nonexistent/key", "KeyFile", "/nonexistent/key")]
        [InlineData("L", "$h | Start-OpenBsdGuest -Image /x.qcow2 -KeyFile {key} -Accelerator xen", "Accelerator", "xen")]
        [InlineData("L", "$h | Start-OpenBsdGuest -Image '' -KeyFile {key}", "Image", "")]
        [InlineData("L", "Publish-OpenBsdImage -Image '' -Destination s3://bucket/images/", "Image", "")]
        // Invoke-GuestBuild
        [InlineData("L", "$guest | Invoke-GuestBuild -Command true -WorkingDirectory relative/dir", "WorkingDirectory", "relative/dir")]
        [InlineData("L", "$guest | Invoke-GuestBuild -Command true -Path /nonexistent/src", "Path", "/nonexistent/src")]
        [InlineData("L", "$guest | Invoke-GuestBuild -Command true -Archive /nonexistent/src.tgz", "Archive", "/nonexistent/src.tgz")]
        [InlineData("L", "$guest | Invoke-GuestBuild -Command true -Environment @{ 'BAD-NAME' = 1 }", "Environment", "BAD-NAME")]
        [InlineData("L", "$guest | Invoke-GuestBuild -Command true -Secret @{ TOKEN = 'plain text' }", "Secret", "TOKEN")]
        [InlineData("L", "$guest | Invoke-GuestBuild -Command true -Timeout 00:00:00", "Timeout", "00:00:00")]
        [InlineData("L", "$guest | Invoke-GuestBuild -Command true -ThrottleLimit 0", "ThrottleLimit", "0")]
        [InlineData("L", "$guest | Invoke-GuestBuild -Command true -MinFreeSpace -1", "MinFreeSpace", "-1")]
        // Stop-OpenBsdGuest
        [InlineData("L", "$guest | Stop-OpenBsdGuest -GracePeriod -00:00:01", "GracePeriod", "-00:00:01")]
        // Invoke-OpenBsdBuild
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -Path {state} -GitUrl https://example.com/r.git", "GitUrl", "https://example.com/r.git")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -Ref v1", "Ref", "v1")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -BootTimeout 00:00:00", "BootTimeout", "00:00:00")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -Timeout -00:00:01", "Timeout", "-00:00:01")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -WorkingDirectory rel", "WorkingDirectory", "rel")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -GuestName 'a b'", "GuestName", "a b")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -HostKeyFingerprint nope", "HostKeyFingerprint", "nope")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile /nonexistent/key -Command true", "KeyFile", "/nonexistent/key")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -Secret @{ T = 'plain' }", "Secret", "T")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -RunningTimeout 00:00:00", "RunningTimeout", "00:00:00")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -MaxLifetime 30.00:00:00", "MaxLifetime", "30.00:00:00")]
        [InlineData("L", "Invoke-OpenBsdBuild {aws} -Image s3:/bad -KeyFile {key} -Command true", "Image", "s3:/bad")]
        [InlineData("L", "$h | Invoke-OpenBsdBuild -Image /x.qcow2 -KeyFile {key} -Command true -InstanceType c7g.metal", "InstanceType", "c7g.metal")]
        [InlineData("L", "$h | Invoke-OpenBsdBuild -Image s3://b/x.qcow2 -KeyFile {key} -Command true", "Image", "s3://b/x.qcow2")]
        [InlineData("A", "Invoke-OpenBsdBuild {aws} -Image /x.qcow2 -KeyFile {key} -Command true -AvailabilityZone us-east-1z", "AvailabilityZone", "us-east-1z")]
        public void A_bad_value_is_refused_before_anything_is_created_naming_parameter_value_and_fix(string where, string script, string parameter, string value)
        {
            var key = Path.Combine(_state, "key");
            File.WriteAllText(key, "not used: every case fails before a connection");
            using var ps = new PsSession();
            var setup = ps.Run($"$h = Connect-MetalHost -Local -StateDirectory '{_state}'; " +
                               "$cred = [pscredential]::new('AKIDCRED', [System.Net.NetworkCredential]::new('', 'x').SecurePassword)");
            Assert.False(setup.HadErrors, setup.Describe());
            var host = (MetalHost)ps.Run("$h").Output.Single().BaseObject;
            ps.Set("guest", new OpenBsdGuest(host, "fake", _state + "/guests/fake") { User = "root" });

            string aws = $"-Region us-east-1 -AccessKey AKIDEXAMPLE -SecretKey secret -EndpointUrl '{_emulator.Endpoint}' -AllowedCidr 198.51.100.7/32";
            if (script.Contains("-AllowedCidr")) aws = aws.Replace(" -AllowedCidr 198.51.100.7/32", "");
            if (script.StartsWith("Get-MetalHost") || script.StartsWith("Remove-MetalHost")) aws = aws.Replace(" -AllowedCidr 198.51.100.7/32", "");
            var r = ps.Run(script.Replace("{aws}", aws).Replace("{key}", $"'{key}'").Replace("{state}", $"'{_state}'"));

            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            string id = e!.FullyQualifiedErrorId;
            string text = e.Exception.Message;
            if (id.StartsWith("OpenBsdBuild.", StringComparison.Ordinal))
            {
                // Ours: the id names the parameter, the message the value, RecommendedAction the fix.
                Assert.Equal("OpenBsdBuild.InvalidParameter." + parameter, id.Split(',')[0]);
                Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
                Assert.Contains("-" + parameter, text);
                Assert.False(string.IsNullOrEmpty(e.ErrorDetails?.RecommendedAction), id);
            }
            else
            {
                // PowerShell's own validation (ValidateRange/Set/Pattern): its message names both and says what to supply.
                Assert.StartsWith("ParameterArgumentValidationError,", id);
                Assert.Contains($"'{parameter}'", text);
                Assert.Contains("Supply an argument", text);
            }
            if (value.Length > 0) Assert.Contains(value, text);

            // Nothing was created, and the cheap checks came before any request to AWS.
            Assert.Equal(0, Mutating.Sum(_emulator.CountOf));
            if (where == "L") Assert.Empty(_emulator.Requests);
            Assert.Empty(Tools.QemuProcesses(_state));
            Assert.False(Directory.Exists(Path.Combine(_state, "guests")) && Directory.GetFileSystemEntries(Path.Combine(_state, "guests")).Length > 0);
        }
    }
}
