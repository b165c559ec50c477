using System.IO;
using System.Linq;
using System.Threading.Tasks;
using System;
using Xunit;
using OpenBsdBuild.Cloud.Aws;
using OpenBsdBuild.Cloud.Ec2;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.Model;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Cloud
{
    /// <summary>
    /// New-MetalHost / Get-MetalHost / Remove-MetalHost through real PowerShell pipelines: the real
    /// AWS SDK talks HTTP to the EC2 emulator, the "instance" is a real sshd in a network namespace
    /// whose host key the emulator's console prints, and the rendered user data really runs there.
    /// </summary>
    public sealed class MetalHostTests : IClassFixture<MetalHostTests.Host>, IAsyncLifetime
    {
        public sealed class Host : IDisposable
        {
            public NetnsSshHost Ssh { get; } = new NetnsSshHost();
            public void Dispose() => Ssh.Dispose();
        }

        private readonly NetnsSshHost _ssh;
        private Ec2Emulator _emulator = null!;
        private InstanceBooter _booter = null!;
        private string _console = "";

        public MetalHostTests(Host host) => _ssh = host.Ssh;

        public async Task InitializeAsync()
        {
            _emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions());
            _emulator.AddressProvider = _ => (_ssh.Address, null);
            _console = ConsoleText.With(_ssh.HostKeyFingerprint);
            _emulator.ConsoleOutputProvider = _ => _console;
            _booter = new InstanceBooter(_emulator, _ssh);
        }

        public async Task DisposeAsync()
        {
            await _booter.DisposeAsync();
            var bugs = _emulator.UnhandledExceptions;
            await _emulator.DisposeAsync();
            Assert.Empty(bugs);
        }

        private string Aws => $"-Region us-east-1 -AccessKey AKIDEXAMPLE -SecretKey secret -EndpointUrl '{_emulator.Endpoint}'";
        private string New(string extra = "") =>
            $"New-MetalHost {Aws} -AllowedCidr 198.51.100.7/32 -SshUser root -StateDirectory '{_booter.StateDirectory}/guests' {extra}";

        private void AssertNothingLeft()
        {
            Assert.All(_emulator.Instances.Values, i => Assert.Equal(EmulatedInstanceState.Terminated, i.State));
            Assert.DoesNotContain(_emulator.SecurityGroups.Values, g => !g.IsDefault);
            Assert.Empty(_emulator.KeyPairs.Values);
        }

        [Fact]
        public void New_then_Remove_launches_a_verified_host_and_leaves_nothing()
        {
            _booter.SlowStatusUpdates();
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New("-Tag @{ project = 'engine' }")}; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe() + "\nboot log:\n" + _booter.BootLog);
            var host = r.Single<MetalHost>();
            var report = r.Single<TeardownReport>();

            Assert.Equal(HostProvider.Ec2, host.Provider);
            Assert.Equal(_ssh.HostKeyFingerprint, host.HostKeyFingerprint);
            Assert.Equal("a1.metal", host.InstanceType);
            Assert.Equal("us-east-1", host.Region);
            Assert.Equal(_ssh.Address, host.PublicIpAddress);
            Assert.Equal(0.408m, host.PricePerHour);
            Assert.NotNull(host.ExpiresAt);
            Assert.InRange((host.ExpiresAt!.Value - host.LaunchTime).TotalMinutes, 119, 121);
            Assert.Equal(HostState.Removed, host.State);
            Assert.Equal(host.InstanceId, report.InstanceId);
            Assert.NotNull(report.SecurityGroupDeleted);
            Assert.NotNull(report.KeyPairDeleted);

            // What was launched, as EC2 saw it.
            var instance = _emulator.Instances[host.InstanceId!];
            Assert.Equal("required", instance.HttpTokens);
            Assert.Equal(1, instance.HttpPutResponseHopLimit);
            Assert.Equal("terminate", instance.ShutdownBehavior);
            Assert.Equal(host.RunId, instance.Tags[Ec2Tags.RunId]);
            Assert.Equal("engine", instance.Tags["project"]);
            Assert.True(instance.Tags.ContainsKey(Ec2Tags.Expires));
            Assert.StartsWith("openbsdbuild-", instance.Tags["Name"]);
            var volume = _emulator.Volumes[Assert.Single(instance.VolumeIds)];
            Assert.True(volume.Encrypted);
            Assert.Equal("gp3", volume.VolumeType);
            Assert.Equal(host.RunId, volume.Tags[Ec2Tags.RunId]);
            Assert.StartsWith("#!/bin/bash", instance.UserData);

            // The user data really ran: self-destruct armed for the lifetime, progress followed to ready.
            // Intermediate phases are sampled from a polled status file and may be missed; "ready" is what the wait ends on.
            Assert.StartsWith("-h +120", _booter.ShutdownArgs);
            Assert.Contains(r.Progress, p => p.StatusDescription.Contains("ready") && p.PercentComplete == 100);
            Assert.Contains(r.Progress, p => p.StatusDescription.Contains("running"));
            AssertNothingLeft();
        }

        [Fact]
        public void Security_group_allows_ssh_from_the_allowed_cidr_only_and_Get_MetalHost_lists_the_host()
        {
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New()}; Get-MetalHost {Aws}");
            Assert.False(r.HadErrors, r.Describe());
            var listed = r.All<MetalHost>().Last();
            var group = _emulator.SecurityGroups.Values.Single(g => !g.IsDefault);
            var ingress = Assert.Single(group.Rules, x => !x.IsEgress);
            Assert.Equal("198.51.100.7/32", ingress.CidrIpv4);
            Assert.Equal(22, ingress.FromPort);
            Assert.Equal(22, ingress.ToPort);
            Assert.Equal("running", listed.InstanceState);
            Assert.Equal(0.408m, listed.PricePerHour);
            Assert.NotNull(listed.ExpiresAt);

            // Get-MetalHost output can be removed, like an instance id.
            var removed = ps.Run($"Get-MetalHost {Aws} | Remove-MetalHost -Verbose; Get-MetalHost {Aws}");
            Assert.False(removed.HadErrors, removed.Describe());
            // Every AWS request shows with -Verbose, named by its operation.
            Assert.Contains(removed.Verbose, v => v.Message.StartsWith("AWS ") && v.Message.Contains(" TerminateInstances (us-east-1)"));
            Assert.Contains(removed.Verbose, v => v.Message.StartsWith("AWS ") && v.Message.Contains(" DeleteSecurityGroup (us-east-1)"));
            Assert.Empty(removed.All<MetalHost>());
            AssertNothingLeft();
        }

        [Fact]
        public void Throttling_bursts_are_retried_and_launch_only_once()
        {
            _emulator.FailNext("RunInstances", "RequestLimitExceeded", count: 3);
            _emulator.FailNext("DescribeInstances", "RequestLimitExceeded", count: 2);
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New()}; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Equal(0, _emulator.PendingFailures);
            Assert.Single(_emulator.Instances);
            AssertNothingLeft();
        }

        [Fact]
        public void No_capacity_tries_the_next_zone_then_the_next_type_and_says_so()
        {
            _emulator.InsufficientCapacity("a1.metal");
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New("-InstanceType a1.metal,c7g.metal")}; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Equal("c7g.metal", r.Single<MetalHost>().InstanceType);
            string warning = Assert.Single(r.Warnings).Message;
            Assert.Contains("a1.metal in us-east-1a: InsufficientInstanceCapacity", warning);
            Assert.Contains("a1.metal in us-east-1b: InsufficientInstanceCapacity", warning);
            AssertNothingLeft();
        }

        [Fact]
        public void No_capacity_anywhere_is_one_clear_error_and_leaves_nothing()
        {
            _emulator.InsufficientCapacity("a1.metal");
            using var ps = new PsSession();
            var r = ps.Run(New());
            var e = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild.NoCapacity,", e.FullyQualifiedErrorId);
            Assert.Contains("us-east-1b", e.Exception.Message);
            Assert.Empty(r.All<MetalHost>());
            AssertNothingLeft();
        }

        [Fact]
        public void Stuck_pending_times_out_and_everything_is_removed()
        {
            _emulator.StuckPending(true);
            using var ps = new PsSession();
            var r = ps.Run(New("-RunningTimeout 00:00:03"));
            var e = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild.InstanceTimeout,", e.FullyQualifiedErrorId);
            Assert.Contains("pending", e.Exception.Message);
            _emulator.StuckPending(false);
            Assert.Single(_emulator.Instances);
            AssertNothingLeft();
        }

        [Fact]
        public void Empty_console_at_first_is_waited_for()
        {
            _emulator.ConsoleOutputDelay = TimeSpan.FromSeconds(3);
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New()}; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains(r.Progress, p => p.StatusDescription.Contains("empty so far"));
            Assert.True(_emulator.CountOf("GetConsoleOutput") >= 2);
            AssertNothingLeft();
        }

        [Fact]
        public void A_host_key_the_console_did_not_print_is_refused_and_everything_is_removed()
        {
            _console = ConsoleText.With("SHA256:" + new string('B', 43));
            using var ps = new PsSession();
            var r = ps.Run(New());
            var e = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild.HostKeyMismatch,", e.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.SecurityError, e.CategoryInfo.Category);
            Assert.Contains(_ssh.HostKeyFingerprint, e.Exception.Message);
            Assert.Empty(r.All<MetalHost>());
            AssertNothingLeft();
        }

        [Fact]
        public async Task Cancellation_while_waiting_removes_everything()
        {
            // What Ctrl+C does to the cmdlet: its engine token is cancelled, and it waits for this clean-up.
            _emulator.StuckPending(true);
            using var cts = new System.Threading.CancellationTokenSource();
            var aws = new AwsConnectionOptions { Region = "us-east-1", AccessKey = "AKIDEXAMPLE", SecretKey = "secret", EndpointUrl = _emulator.Endpoint };
            var launch = Ec2HostLauncher.LaunchAsync(aws, new LaunchRequest { AllowedCidr = "198.51.100.7/32", SshUser = "root" }, new RecordingReporter(), cts.Token);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (_emulator.Instances.Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => launch);
            _emulator.StuckPending(false);
            Assert.Single(_emulator.Instances);
            AssertNothingLeft();
        }

        [Fact]
        public async Task Cancellation_before_the_launch_is_answered_finds_and_terminates_the_instance()
        {
            // EC2 launched it, but its answer never arrived, so this process never learned the id: the clean-up finds
            // the instance by the launch's client token (a loaded machine's Ctrl+C landed there in a CI run).
            _emulator.LoseAnswers("RunInstances");
            using var cts = new System.Threading.CancellationTokenSource();
            var reporter = new RecordingReporter();
            var aws = new AwsConnectionOptions { Region = "us-east-1", AccessKey = "AKIDEXAMPLE", SecretKey = "secret", EndpointUrl = _emulator.Endpoint };
            var launch = Ec2HostLauncher.LaunchAsync(aws, new LaunchRequest { AllowedCidr = "198.51.100.7/32", SshUser = "root" }, reporter, cts.Token);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (_emulator.Instances.Count == 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.Single(_emulator.Instances);
            cts.Cancel();
            // Only a hang guard: without the lookup the group waits 30 min for an instance nobody terminates.
            Assert.True(await Task.WhenAny(launch, Task.Delay(TimeSpan.FromMinutes(3))) == launch, "the clean-up never returned");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => launch);
            AssertNothingLeft();
            Assert.Contains(reporter.VerboseMessages, m => m.Contains("it had launched " + _emulator.Instances.Keys.Single()));
        }

        [Fact]
        public void WhatIf_creates_nothing()
        {
            using var ps = new PsSession();
            var r = ps.Run(New("-WhatIf"));
            Assert.False(r.HadErrors, r.Describe());
            Assert.Contains("Launch EC2 metal host", r.HostText);
            Assert.Empty(_emulator.Instances);
            Assert.Equal(0, _emulator.CountOf("RunInstances") + _emulator.CountOf("CreateSecurityGroup") + _emulator.CountOf("ImportKeyPair"));
        }

        [Theory]
        [InlineData("-InstanceType z9.metal", "InstanceType", "z9.metal")]
        [InlineData("-InstanceType t4g.micro", "InstanceType", "bare-metal")]
        [InlineData("-InstanceType c5.metal", "InstanceType", "x86_64")]
        [InlineData("-AllowedCidr 10.0.0.300/33", "AllowedCidr", "CIDR")]
        [InlineData("-AllowedCidr 0.0.0.0/0", "AllowedCidr", "whole internet")]
        [InlineData("-MaxLifetime 00:01:00", "MaxLifetime", "out of range")]
        [InlineData("-MaxLifetime 30.00:00:00", "MaxLifetime", "out of range")]
        [InlineData("-AvailabilityZone us-east-1z", "AvailabilityZone", "us-east-1z")]
        [InlineData("-ImageId ami-0000000000000dead", "ImageId", "no such image")]
        [InlineData("-SpotMaxPrice 0.2", "SpotMaxPrice", "-Spot")]
        [InlineData("-Spot -SpotMaxPrice -1", "SpotMaxPrice", "positive")]
        public void Bad_input_names_the_parameter_and_creates_nothing(string args, string parameter, string mentions)
        {
            using var ps = new PsSession();
            // Replace the default -AllowedCidr when the case gives its own.
            string command = args.StartsWith("-AllowedCidr") ? New(args).Replace("-AllowedCidr 198.51.100.7/32 ", "") : New(args);
            var r = ps.Run(command);
            var e = r.FirstError!;
            Assert.True(e != null, r.Describe());
            Assert.Equal("OpenBsdBuild.InvalidParameter." + parameter, e!.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
            Assert.Contains(mentions, e.Exception.Message);
            Assert.False(string.IsNullOrEmpty(e.ErrorDetails?.RecommendedAction));
            Assert.Equal(0, _emulator.CountOf("RunInstances") + _emulator.CountOf("CreateSecurityGroup") + _emulator.CountOf("ImportKeyPair"));
            AssertNothingLeft();
        }

        [Fact]
        public void A_subnet_in_another_vpc_without_public_addresses_is_refused()
        {
            using var ps = new PsSession();
            var r = ps.Run(New($"-SubnetId {_emulator.OtherVpcSubnet().SubnetId}"));
            var e = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild.InvalidParameter.SubnetId,", e.FullyQualifiedErrorId);
            Assert.Contains("not the default VPC", e.Exception.Message);
            Assert.Equal(0, _emulator.CountOf("RunInstances") + _emulator.CountOf("CreateSecurityGroup") + _emulator.CountOf("ImportKeyPair"));
            AssertNothingLeft();
        }

        [Fact]
        public void No_credentials_anywhere_is_one_error_naming_what_was_tried()
        {
            // The SDK's chain would otherwise ask the instance metadata service, which this machine is not.
            Environment.SetEnvironmentVariable("AWS_EC2_METADATA_DISABLED", "true");
            using var ps = new PsSession();
            var r = ps.Run($"New-MetalHost -Region us-east-1 -EndpointUrl '{_emulator.Endpoint}' -AllowedCidr 198.51.100.7/32");
            var e = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild.NoCredentials,", e.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.AuthenticationError, e.CategoryInfo.Category);
            Assert.Contains("environment variables", e.Exception.Message);
            Assert.Contains("instance roles", e.Exception.Message);
            Assert.Empty(_emulator.Requests);
            // Terminating (try/catch catches it), as in Invoke-OpenBsdBuild: nothing can be made without credentials.
            foreach (string command in new[] { "New-MetalHost", "Invoke-OpenBsdBuild -Image /x.qcow2 -TrustHostKey -KeyFile /dev/null -Command true" })
            {
                var caught = ps.Run($"try {{ {command} -Region us-east-1 -EndpointUrl '{_emulator.Endpoint}' -AllowedCidr 198.51.100.7/32 }} catch {{ $_.FullyQualifiedErrorId }}");
                Assert.StartsWith("OpenBsdBuild.NoCredentials,", caught.Output.Single().ToString());
            }

            // Local checks come first: without credentials a typo still reads as the typo.
            foreach (var (args, parameter) in new[] { ("-MaxLifetime 00:01:00", "MaxLifetime"), ("-AllowedCidr 10.0.0.0/33", "AllowedCidr"), ("-AllowedCidr 0.0.0.0/1", "AllowedCidr") })
            {
                var typo = ps.Run($"New-MetalHost -Region us-east-1 -EndpointUrl '{_emulator.Endpoint}' {args}");
                Assert.StartsWith($"OpenBsdBuild.InvalidParameter.{parameter},", typo.FirstError!.FullyQualifiedErrorId);
            }
            Assert.Empty(_emulator.Requests);
        }

        [Fact]
        public void A_CIDR_broader_than_a_16_needs_Force_and_a_warning_says_how_many_addresses_may_connect()
        {
            using var ps = new PsSession();
            var refused = ps.Run($"New-MetalHost {Aws} -AllowedCidr 0.0.0.0/1");
            var e = refused.FirstError!;
            Assert.StartsWith("OpenBsdBuild.InvalidParameter.AllowedCidr,", e.FullyQualifiedErrorId);
            Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
            Assert.Contains("2,147,483,648 addresses", e.Exception.Message);
            Assert.Contains("-Force", e.ErrorDetails.RecommendedAction);
            Assert.Empty(_emulator.Requests);

            var forced = ps.Run($"New-MetalHost {Aws} -AllowedCidr 10.0.0.0/15 -Force -WhatIf");
            Assert.False(forced.HadErrors, forced.Describe());
            Assert.Contains(forced.Warnings, w => w.Message.Contains("131,072 addresses"));
            Assert.Empty(_emulator.Instances);
            var narrow = ps.Run($"New-MetalHost {Aws} -AllowedCidr 10.0.0.0/16 -WhatIf");
            Assert.False(narrow.HadErrors, narrow.Describe());
            Assert.Empty(narrow.Warnings);
        }

        [Fact]
        public void An_error_page_instead_of_an_AWS_answer_is_AwsServiceError_with_the_status_not_a_bug()
        {
            // More pages than the SDK's retries: the caller sees the page.
            _emulator.ServeErrorPage(502, 50);
            using var ps = new PsSession();
            var r = ps.Run($"New-MetalHost {Aws} -AllowedCidr 198.51.100.7/32");
            var e = r.FirstError!;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith("OpenBsdBuild.AwsServiceError,", e!.FullyQualifiedErrorId);
            Assert.Contains("HTTP 502", e.Exception.Message);
            Assert.Contains("request id", e.Exception.Message);
            Assert.DoesNotContain("bug", e.Exception.Message + e.ErrorDetails.RecommendedAction);
            Assert.Empty(_emulator.Instances);
        }

        [Fact]
        public void SshTimeout_bounds_each_connect_attempt_not_only_when_the_next_may_start()
        {
            // The instance's address swallows every packet: each SSH attempt can only time out.
            _ssh.LinkDown();
            try
            {
                using var ps = new PsSession();
                var r = ps.Run($"{New("-SshTimeout 00:00:03")}");
                var e = r.FirstError;
                Assert.True(e != null, r.Describe());
                Assert.StartsWith("OpenBsdBuild.SshTimeout,", e!.FullyQualifiedErrorId);
                Assert.Contains("within 3 s", e.Exception.Message);
                Assert.DoesNotContain("after 15 s", e.Exception.Message);
                Assert.DoesNotContain("after 20 s", e.Exception.Message);
            }
            finally
            {
                _ssh.LinkUp();
            }
            AssertNothingLeft();
        }

        [Fact]
        public void Remove_binds_ids_and_objects_with_an_InstanceId_and_a_bad_item_does_not_stop_the_rest()
        {
            using var ps = new PsSession();
            var r = ps.Run($"$a = {New()}; $b = {New()}; $c = {New()}; " +
                           $"[pscustomobject]@{{ InstanceId = $a.InstanceId }}, 'junk', 42, $b.InstanceId, $c | Remove-MetalHost {Aws}");
            Assert.Null(r.Exception);
            Assert.Equal(2, r.Errors.Count);
            Assert.All(r.Errors, e => Assert.StartsWith("OpenBsdBuild.NotAHost,", e.FullyQualifiedErrorId));
            Assert.Equal(System.Management.Automation.ErrorCategory.InvalidArgument, r.Errors[0].CategoryInfo.Category);
            Assert.Equal("junk", r.Errors[0].TargetObject?.ToString());
            Assert.Equal(3, r.All<TeardownReport>().Count());
            AssertNothingLeft();
        }

        [Fact]
        public void Remove_Wait_waits_for_terminated_even_when_no_group_of_the_run_is_found()
        {
            _emulator.ShuttingDownDelay = TimeSpan.FromSeconds(3);
            using var ps = new PsSession();
            var made = ps.Run($"$h = {New()}; $h");
            Assert.False(made.HadErrors, made.Describe());
            var host = made.Single<MetalHost>();
            // Someone took the run's tag off its group: teardown no longer recognises the group as the run's.
            using var ec2 = new Amazon.EC2.AmazonEC2Client(new Amazon.Runtime.BasicAWSCredentials("AKIDEXAMPLE", "secret"),
                new Amazon.EC2.AmazonEC2Config { ServiceURL = _emulator.Endpoint.ToString(), AuthenticationRegion = "us-east-1" });
            ec2.DeleteTagsAsync(new Amazon.EC2.Model.DeleteTagsRequest
            {
                Resources = [host.SecurityGroupId], Tags = [new Amazon.EC2.Model.Tag { Key = Ec2Tags.RunId }],
            }).GetAwaiter().GetResult();
            var r = ps.Run("$h | Remove-MetalHost -Wait");
            Assert.False(r.HadErrors, r.Describe());
            var report = r.Single<TeardownReport>();
            Assert.Equal("terminated", report.State);
            Assert.Equal(EmulatedInstanceState.Terminated, _emulator.Instances[host.InstanceId!].State);
            ec2.DeleteSecurityGroupAsync(new Amazon.EC2.Model.DeleteSecurityGroupRequest { GroupId = host.SecurityGroupId }).GetAwaiter().GetResult();
            AssertNothingLeft();
        }

        [Fact]
        public void A_host_from_a_pipeline_that_throws_is_terminated_unless_KeepOnFailure()
        {
            using var ps = new PsSession();
            var r = ps.Run($"{New()} | ForEach-Object {{ throw 'stage failed' }}");
            Assert.NotNull(r.Exception);
            Assert.Contains("the pipeline ended before it finished; removed what it had made", r.HostText);
            AssertNothingLeft();

            var kept = ps.Run($"{New("-KeepOnFailure")} | ForEach-Object {{ throw 'stage failed' }}");
            Assert.NotNull(kept.Exception);
            var id = _emulator.Instances.Values.Single(i => i.State == EmulatedInstanceState.Running).InstanceId;
            Assert.Contains($"kept with -KeepOnFailure: {id}", kept.HostText);
            Assert.Contains($"Remove-MetalHost -InstanceId {id}", kept.HostText);
            var removed = ps.Run($"Remove-MetalHost -InstanceId {id} {Aws}");
            Assert.False(removed.HadErrors, removed.Describe());
            AssertNothingLeft();
        }

        [Fact]
        public void A_host_whose_pipeline_is_stopped_after_New_MetalHost_returned_is_terminated()
        {
            string marker = Path.Combine(Path.GetTempPath(), "obb-stage-" + Guid.NewGuid().ToString("N"));
            using var ps = new PsSession();
            var running = ps.RunAsync($"{New()} | ForEach-Object {{ [IO.File]::WriteAllText('{marker}', ''); while ($true) {{ [Threading.Thread]::Sleep(100) }} }}");
            var deadline = DateTime.UtcNow.AddSeconds(180);
            while (!File.Exists(marker) && !running.IsCompleted && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(100);
            Assert.True(File.Exists(marker), "the stage after New-MetalHost never ran: " + (running.IsCompleted ? running.Result.Describe() : "timed out"));
            File.Delete(marker);
            ps.Stop();
            Assert.True(running.Wait(TimeSpan.FromSeconds(120)), "Ctrl+C never returned");
            Assert.True(running.Result.Stopped, running.Result.Describe());
            AssertNothingLeft();
        }

        [Theory]
        [InlineData("ExpiredToken", 1000, "AwsCredentialsRejected", System.Management.Automation.ErrorCategory.AuthenticationError)]
        [InlineData("UnauthorizedOperation", 1000, "AwsPermissionDenied", System.Management.Automation.ErrorCategory.PermissionDenied)]
        public void Credentials_AWS_rejects_are_one_clear_error_and_nothing_is_left(string code, int count, string id, System.Management.Automation.ErrorCategory category)
        {
            _emulator.FailNext("*", code, "The security token included in the request is expired", count, 400);
            using var ps = new PsSession();
            var r = ps.Run(New());
            var e = r.FirstError;
            Assert.True(e != null, r.Describe());
            Assert.StartsWith($"OpenBsdBuild.{id},", e!.FullyQualifiedErrorId);
            Assert.Equal(category, e.CategoryInfo.Category);
            Assert.Contains(code, e.Exception.Message);
            Assert.Empty(r.All<MetalHost>());
            _emulator.ClearFailures();
            AssertNothingLeft();
        }

        [Fact]
        public void Credentials_come_from_a_named_profile_or_a_PSCredential_as_in_AWS_Tools()
        {
            string file = Path.Combine(_booter.StateDirectory, "credentials");
            File.WriteAllText(file, "[builds]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = secret\nregion = eu-west-1\n");
            using var ps = new PsSession();
            string rest = $"-EndpointUrl '{_emulator.Endpoint}' -AllowedCidr 198.51.100.7/32 -WhatIf";
            var byProfile = ps.Run($"New-MetalHost -ProfileName builds -ProfileLocation '{file}' {rest}");
            Assert.False(byProfile.HadErrors, byProfile.Describe());
            Assert.Contains("AKIDPROFILE", _emulator.SeenAccessKeyIds);
            Assert.Contains("eu-west-1", _emulator.SeenRegions); // the profile's region

            var byCredential = ps.Run("$c = [pscredential]::new('AKIDCREDENTIAL', [System.Net.NetworkCredential]::new('', 'secret').SecurePassword); " +
                                      $"New-MetalHost -Region us-east-1 -Credential $c {rest}");
            Assert.False(byCredential.HadErrors, byCredential.Describe());
            Assert.Contains("AKIDCREDENTIAL", _emulator.SeenAccessKeyIds);

            var missing = ps.Run($"New-MetalHost -ProfileName nosuch -ProfileLocation '{file}' {rest}");
            Assert.StartsWith("OpenBsdBuild.InvalidParameter.ProfileName,", missing.FirstError!.FullyQualifiedErrorId);
            Assert.Empty(_emulator.Instances);
            AssertNothingLeft();
        }

        [Fact]
        public async Task Remove_accepts_an_instance_id_and_refuses_instances_it_did_not_create()
        {
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New()}; Remove-MetalHost -InstanceId $h.InstanceId {Aws}");
            Assert.False(r.HadErrors, r.Describe());
            Assert.Single(r.All<TeardownReport>());
            AssertNothingLeft();

            using var ec2 = new Amazon.EC2.AmazonEC2Client(new Amazon.Runtime.BasicAWSCredentials("AKIDEXAMPLE", "secret"),
                new Amazon.EC2.AmazonEC2Config { ServiceURL = _emulator.Endpoint.ToString(), AuthenticationRegion = "us-east-1" });
            var foreign = (await ec2.RunInstancesAsync(new Amazon.EC2.Model.RunInstancesRequest
            {
                ImageId = _emulator.GetSsmParameter(LaunchPlan.SsmParameterFor("arm64")), InstanceType = "c7g.metal", MinCount = 1, MaxCount = 1,
            })).Reservation.Instances[0].InstanceId;
            var refused = ps.Run($"'{foreign}' | Remove-MetalHost {Aws}");
            Assert.StartsWith("OpenBsdBuild.NotOurInstance,", refused.FirstError!.FullyQualifiedErrorId);
            Assert.Equal(EmulatedInstanceState.Running, _emulator.Instances[foreign].State);
        }

        [Fact]
        public void Remove_returns_once_termination_is_accepted_and_Wait_waits_for_terminated()
        {
            _emulator.ShuttingDownDelay = TimeSpan.FromSeconds(4);
            using var ps = new PsSession();
            var first = ps.Run($"$a = {New()}; $b = {New()}; $a | Remove-MetalHost");
            Assert.False(first.HadErrors, first.Describe());
            var quick = first.Single<TeardownReport>();
            Assert.Equal("shutting-down", quick.State);
            Assert.NotNull(quick.SecurityGroupPending);
            Assert.NotNull(quick.KeyPairDeleted);

            var watch = System.Diagnostics.Stopwatch.StartNew();
            var second = ps.Run("$b | Remove-MetalHost -Wait");
            Assert.False(second.HadErrors, second.Describe());
            var waited = second.Single<TeardownReport>();
            Assert.Equal("terminated", waited.State);
            Assert.NotNull(waited.SecurityGroupDeleted);
            // It waited: the instance cannot be terminated before the emulator's shutting-down delay has passed. How soon
            // after the change it was seen is a matter of speed (benchmarks), not something a loaded machine can promise.
            Assert.True(watch.Elapsed >= _emulator.ShuttingDownDelay, $"returned after {watch.Elapsed}, before the instance could be terminated");
            Assert.Equal(EmulatedInstanceState.Terminated, _emulator.Instances[waited.InstanceId].State);

            // The first host's group was finished in the background once its instance let go.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (_emulator.SecurityGroups.Values.Any(g => !g.IsDefault) && DateTime.UtcNow < deadline) System.Threading.Thread.Sleep(200);
            AssertNothingLeft();
        }

        [Fact]
        public async Task Orphaned_lists_leftover_groups_and_key_pairs_and_Remove_deletes_them()
        {
            // What a crashed client leaves behind: a tagged group and key pair with no instance.
            using var ec2 = new Amazon.EC2.AmazonEC2Client(new Amazon.Runtime.BasicAWSCredentials("AKIDEXAMPLE", "secret"),
                new Amazon.EC2.AmazonEC2Config { ServiceURL = _emulator.Endpoint.ToString(), AuthenticationRegion = "us-east-1" });
            var tags = Ec2Tags.For("obb-crashed0001", "someone@elsewhere", DateTime.UtcNow.AddHours(-3), DateTime.UtcNow.AddHours(-1), "openbsdbuild-obb-crashed0001", null, true);
            await ec2.CreateSecurityGroupAsync(new Amazon.EC2.Model.CreateSecurityGroupRequest
            {
                GroupName = "openbsdbuild-obb-crashed0001", Description = "left over",
                TagSpecifications = [new Amazon.EC2.Model.TagSpecification { ResourceType = Amazon.EC2.ResourceType.SecurityGroup, Tags = tags }],
            });
            using (var key = EphemeralKeyPair.Generate("left-over"))
                await ec2.ImportKeyPairAsync(new Amazon.EC2.Model.ImportKeyPairRequest
                {
                    KeyName = "openbsdbuild-obb-crashed0001", PublicKeyMaterial = key.ImportMaterial,
                    TagSpecifications = [new Amazon.EC2.Model.TagSpecification { ResourceType = Amazon.EC2.ResourceType.KeyPair, Tags = tags }],
                });

            using var ps = new PsSession();
            var r = ps.Run($"$live = {New()}; Get-MetalHost {Aws} -Orphaned");
            Assert.False(r.HadErrors, r.Describe());
            var leftovers = r.All<Ec2Leftover>().ToList();
            Assert.Equal(new[] { "KeyPair", "SecurityGroup" }, leftovers.Select(l => l.Kind).OrderBy(k => k));
            Assert.All(leftovers, l => Assert.Equal("obb-crashed0001", l.RunId));
            Assert.Empty(r.All<MetalHost>()); // the live host is neither expired nor orphaned

            var cleaned = ps.Run($"Get-MetalHost {Aws} -Orphaned | Remove-MetalHost {Aws}; $live | Remove-MetalHost");
            Assert.False(cleaned.HadErrors, cleaned.Describe());
            AssertNothingLeft();
        }

        [Fact]
        public async Task Leftovers_are_deleted_in_the_account_they_were_found_in_and_not_found_elsewhere_is_not_success()
        {
            // A second account on the same endpoint, reached with its own access key.
            await using var other = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions { AccountId = "210987654321" });
            _emulator.AddAccount("AKIDOTHERACCOUNT", other);
            using var ec2 = new Amazon.EC2.AmazonEC2Client(new Amazon.Runtime.BasicAWSCredentials("AKIDEXAMPLE", "secret"),
                new Amazon.EC2.AmazonEC2Config { ServiceURL = _emulator.Endpoint.ToString(), AuthenticationRegion = "us-east-1" });
            var tags = Ec2Tags.For("obb-crashed0002", "someone@elsewhere", DateTime.UtcNow.AddHours(-3), DateTime.UtcNow.AddHours(-1), "openbsdbuild-obb-crashed0002", null, true);
            await ec2.CreateSecurityGroupAsync(new Amazon.EC2.Model.CreateSecurityGroupRequest
            {
                GroupName = "openbsdbuild-obb-crashed0002", Description = "left over",
                TagSpecifications = [new Amazon.EC2.Model.TagSpecification { ResourceType = Amazon.EC2.ResourceType.SecurityGroup, Tags = tags }],
            });
            using (var key = EphemeralKeyPair.Generate("left-over"))
                await ec2.ImportKeyPairAsync(new Amazon.EC2.Model.ImportKeyPairRequest
                {
                    KeyName = "openbsdbuild-obb-crashed0002", PublicKeyMaterial = key.ImportMaterial,
                    TagSpecifications = [new Amazon.EC2.Model.TagSpecification { ResourceType = Amazon.EC2.ResourceType.KeyPair, Tags = tags }],
                });
            using var scratch = new ScratchFolder();
            string profiles = Path.Combine(scratch.Path, "credentials");
            File.WriteAllText(profiles, "[ci]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\n");

            using var ps = new PsSession();
            var listed = ps.Run($"$l = Get-MetalHost -Orphaned -Region us-east-1 -EndpointUrl '{_emulator.Endpoint}' -ProfileLocation '{profiles}' -ProfileName ci; $l");
            Assert.False(listed.HadErrors, listed.Describe());
            var leftovers = listed.All<Ec2Leftover>().ToList();
            Assert.Equal(2, leftovers.Count);
            Assert.All(leftovers, l =>
            {
                Assert.Equal("123456789012", l.AccountId);
                Assert.Equal("profile 'ci'", l.CredentialSource);
                Assert.Equal(_emulator.Endpoint.GetLeftPart(UriPartial.Authority), l.EndpointUrl!.GetLeftPart(UriPartial.Authority));
            });

            // The other account's credentials: there the leftovers are "not found", which must not count as removed.
            var wrong = ps.Run($"$l | Remove-MetalHost -Region us-east-1 -EndpointUrl '{_emulator.Endpoint}' -AccessKey AKIDOTHERACCOUNT -SecretKey other");
            Assert.Null(wrong.Exception);
            Assert.Equal(2, wrong.Errors.Count);
            Assert.All(wrong.Errors, e =>
            {
                Assert.StartsWith("OpenBsdBuild.AccountMismatch,", e.FullyQualifiedErrorId);
                Assert.Contains("210987654321", e.Exception.Message);
            });
            Assert.Single(_emulator.SecurityGroups.Values, g => !g.IsDefault);
            Assert.Single(_emulator.KeyPairs.Values);

            // As found (same endpoint, same profile): deleted, even though the default chain has no credentials.
            var right = ps.Run("$l | Remove-MetalHost");
            Assert.False(right.HadErrors, right.Describe());
            AssertNothingLeft();
            Assert.Empty(other.UnhandledExceptions);
        }

        [Fact]
        public async Task The_golden_image_is_fetched_by_the_host_through_a_presigned_url_and_checked()
        {
            // s3rver on the veth address, so the namespace (the "instance") can reach it as a host reaches S3.
            using var s3 = new S3rverFixture(_ssh.OuterAddress);
            using var scratch = new ScratchFolder();
            string local = scratch.WriteRandomFile("openbsd-7.9-arm64.qcow2", 3 << 20);
            var stored = await new OpenBsdBuild.ImageStore.S3ImageStore(s3.CreateClient()).PublishAsync(local, TestImages.Metadata(),
                OpenBsdBuild.Model.S3Location.Parse("s3://images/golden/"), OpenBsdBuild.Reporting.NullReporter.Instance, System.Threading.CancellationToken.None);
            _booter.SlowStatusUpdates();

            using var ps = new PsSession();
            string aws = $"-Region us-east-1 -AccessKey S3RVER -SecretKey S3RVER -EndpointUrl '{_emulator.Endpoint}' -S3EndpointUrl '{s3.Endpoint}'";
            string common = $"-AllowedCidr 198.51.100.7/32 -SshUser root -StateDirectory '{_booter.StateDirectory}/guests'";
            var missing = ps.Run($"New-MetalHost {aws} {common} -Image s3://images/golden/nothing-here.qcow2");
            Assert.StartsWith("OpenBsdBuild.InvalidParameter.Image,", missing.FirstError!.FullyQualifiedErrorId);
            Assert.Equal(0, _emulator.CountOf("RunInstances") + _emulator.CountOf("CreateSecurityGroup") + _emulator.CountOf("ImportKeyPair"));

            var r = ps.Run($"$h = New-MetalHost {aws} {common} -Image '{stored.Location}'; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe() + "\nboot log:\n" + _booter.BootLog);
            var host = r.Single<MetalHost>();
            Assert.NotNull(host.GoldenImagePath);
            Assert.Equal(TestImages.Sha256Of(local), Tools.Sh($"sha256sum '{host.GoldenImagePath}'").Split(' ')[0]);
            Assert.Contains(r.Progress, p => p.StatusDescription.Contains("download"));
            Assert.Contains(r.Progress, p => p.StatusDescription.Contains("checksum"));
            // The host got a URL, not credentials.
            var userData = _emulator.Instances[host.InstanceId!].UserData!;
            Assert.Contains("X-Amz-Signature", userData);
            Assert.DoesNotContain("S3RVER\n", userData);
            AssertNothingLeft();
        }

        [Fact]
        public void A_guest_runs_on_the_new_host_and_Remove_ends_both()
        {
            var image = TestGuestImage.Get();
            string state = _booter.StateDirectory + "/guests";
            using var ps = new PsSession();
            var r = ps.Run($"{New()} | Start-OpenBsdGuest -Image '{image.Path}' -KeyFile '{image.KeyFile}' -Memory 512MB -CpuCount 1 | Remove-MetalHost -PassThru");
            Assert.False(r.HadErrors, r.Describe());
            var guest = r.Single<OpenBsdGuest>();
            Assert.Equal(HostProvider.Ec2, guest.Host.Provider);
            Assert.Equal(HostState.Removed, guest.Host.State);
            Assert.Empty(Tools.QemuProcesses(state));
            AssertNothingLeft();
        }

        [Fact]
        public void Spot_below_the_price_falls_back_to_on_demand_only_when_asked()
        {
            using var ps = new PsSession();
            var refused = ps.Run(New("-Spot -SpotMaxPrice 0.01"));
            Assert.StartsWith("OpenBsdBuild.NoCapacity,", refused.FirstError!.FullyQualifiedErrorId);
            Assert.Contains("(spot): SpotMaxPriceTooLow", refused.FirstError.Exception.Message);
            Assert.Contains("-SpotFallbackToOnDemand", refused.FirstError.ErrorDetails.RecommendedAction);
            AssertNothingLeft();

            var r = ps.Run($"$h = {New("-Spot -SpotMaxPrice 0.01 -SpotFallbackToOnDemand")}; $h; $h | Remove-MetalHost");
            Assert.False(r.HadErrors, r.Describe());
            var host = r.Single<MetalHost>();
            Assert.False(host.Spot);
            Assert.Contains("(on demand)", Assert.Single(r.Warnings).Message);
            AssertNothingLeft();

            var spot = ps.Run($"$h = {New("-Spot")}; $h; $h | Remove-MetalHost");
            Assert.False(spot.HadErrors, spot.Describe());
            Assert.True(spot.Single<MetalHost>().Spot);
            AssertNothingLeft();
        }

        [Fact]
        public void A_type_not_offered_in_the_region_is_refused_before_anything_is_created()
        {
            foreach (var zone in new[] { "us-east-1a", "us-east-1b", "us-east-1c" }) _emulator.SetOffered("c7g.metal", zone, false);
            using var ps = new PsSession();
            var r = ps.Run(New("-InstanceType c7g.metal"));
            var e = r.FirstError!;
            Assert.StartsWith("OpenBsdBuild.InvalidParameter.InstanceType,", e.FullyQualifiedErrorId);
            Assert.Contains("not offered in us-east-1", e.Exception.Message);
            Assert.Equal(0, _emulator.CountOf("RunInstances") + _emulator.CountOf("CreateSecurityGroup") + _emulator.CountOf("ImportKeyPair"));
        }

        [Fact]
        public async Task Orphaned_lists_a_host_past_its_expiry()
        {
            using var ps = new PsSession();
            var r = ps.Run($"$h = {New()}; $h");
            Assert.False(r.HadErrors, r.Describe());
            var host = r.Single<MetalHost>();
            Assert.Empty(ps.Run($"Get-MetalHost {Aws} -Orphaned").Output);

            // As if the self-destruct had not fired: the expiry tag is in the past.
            using var ec2 = new Amazon.EC2.AmazonEC2Client(new Amazon.Runtime.BasicAWSCredentials("AKIDEXAMPLE", "secret"),
                new Amazon.EC2.AmazonEC2Config { ServiceURL = _emulator.Endpoint.ToString(), AuthenticationRegion = "us-east-1" });
            await ec2.CreateTagsAsync(new Amazon.EC2.Model.CreateTagsRequest
            {
                Resources = [host.InstanceId!], Tags = [new Amazon.EC2.Model.Tag(Ec2Tags.Expires, Ec2Tags.Format(DateTime.UtcNow.AddMinutes(-1)))],
            });
            var orphaned = ps.Run($"Get-MetalHost {Aws} -Orphaned");
            Assert.Equal(host.InstanceId, Assert.Single(orphaned.All<MetalHost>()).InstanceId);
            var removed = ps.Run($"Get-MetalHost {Aws} -Orphaned | Remove-MetalHost");
            Assert.False(removed.HadErrors, removed.Describe());
            AssertNothingLeft();
        }
    }
}
