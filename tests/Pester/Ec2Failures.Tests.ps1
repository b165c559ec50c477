#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# docs/reliability.md's EC2 rows in real pwsh: what a user sees when EC2 has no capacity, is throttling, answers 5xx or
# a proxy's error page, rejects the credentials or the permissions, or when there are no credentials at all; and that
# nothing is left in the account. One EC2 emulator for the file, with xunit's netns sshd host behind its instances
# (Start-Ec2Emulator -Metal), so a launch that gets through really boots a host; faults are scripted through its stdin
# (Invoke-Ec2EmulatorControl). No guest is booted.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    Import-Module $ModuleManifest -Force
    $script:emulator = Start-Ec2Emulator -Metal
    $script:aws = @{ Region = 'us-east-1'; AccessKey = 'AKIDEXAMPLE'; SecretKey = 'secret'; EndpointUrl = $emulator.Endpoint }
    # The lab's host logs in root (its sshd is this machine's); its guests would live under the lab's state directory.
    $script:launch = @{ AllowedCidr = '198.51.100.7/32'; HostUser = 'root'; StateDirectory = "$($emulator.Metal.StateDirectory)/guests" }

    function Assert-NothingLeft {
        param([string] $Because)
        Get-Ec2Resource $emulator.Endpoint | Should -BeNullOrEmpty -Because "nothing is left in the account ($Because)"
        Get-MetalHost @aws -Orphaned | Should -BeNullOrEmpty
    }

    function Get-ErrorText([System.Management.Automation.ErrorRecord] $Record) {
        # What the user reads: the message and the recommended action, which pwsh prints (ConciseView) with the command.
        $printed = $Record | Out-String -Width 1000
        $printed | Should -Match ([regex]::Escape($Record.Exception.Message.Substring(0, [Math]::Min(40, $Record.Exception.Message.Length))))
        $printed | Should -Match 'Recommendation:'
        $Record.Exception.Message + "`n" + $Record.ErrorDetails.RecommendedAction
    }
}

AfterAll {
    if ($emulator) { Stop-Ec2Emulator $emulator }
}

Describe 'EC2 failures seen from pwsh' -Skip:$IsWindows {
    AfterEach { Invoke-Ec2EmulatorControl $emulator 'clear' }

    It 'no capacity for any type asked: OpenBsdBuild.NoCapacity naming every zone tried, and nothing left' {
        Invoke-Ec2EmulatorControl $emulator 'capacity a1.metal * none'
        try {
            $made = New-MetalHost @aws @launch -InstanceType a1.metal -ErrorAction SilentlyContinue -ErrorVariable err
        }
        finally { Invoke-Ec2EmulatorControl $emulator 'capacity a1.metal * ok' }
        $made | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OpenBsdBuild.NoCapacity,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $text = Get-ErrorText $err[0]
        foreach ($zone in 'us-east-1a', 'us-east-1b') { $text | Should -Match "a1\.metal in ${zone}: InsufficientInstanceCapacity" }
        $text | Should -Match 'more types to -InstanceType'
        Assert-NothingLeft 'the group and key pair made for the launch are removed'
    }

    It 'a throttling burst and no capacity for the first type: a warning names what was tried, and the host is up' {
        Invoke-Ec2EmulatorControl $emulator 'capacity c6g.metal * none'
        Invoke-Ec2EmulatorControl $emulator 'fail RunInstances RequestLimitExceeded 3'
        try {
            $h = New-MetalHost @aws @launch -InstanceType c6g.metal, a1.metal -WarningVariable warned -ErrorVariable err 3>$null
            try {
                $err | Should -BeNullOrEmpty
                $h.InstanceType | Should -Be 'a1.metal'
                $h.HostKeyFingerprint | Should -Be $emulator.Metal.HostKeyFingerprint -Because 'the host really booted and its key was pinned'
                $warned | Should -HaveCount 1
                "$warned" | Should -Match 'c6g\.metal in us-east-1a: InsufficientInstanceCapacity'
            }
            finally { $h | Remove-MetalHost -Confirm:$false }
        }
        finally { Invoke-Ec2EmulatorControl $emulator 'capacity c6g.metal * ok' }
        Assert-NothingLeft 'Remove-MetalHost ended the host'
    }

    It 'EC2 answers HTTP 500 to the launch: OpenBsdBuild.AwsServiceError with the status, no "bug", and nothing left' {
        # More failures than the SDK's retries: the caller sees the 500.
        Invoke-Ec2EmulatorControl $emulator 'fail RunInstances InternalError 50 500'
        $made = New-MetalHost @aws @launch -ErrorAction SilentlyContinue -ErrorVariable err
        $made | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OpenBsdBuild.AwsServiceError,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceUnavailable'
        $text = Get-ErrorText $err[0]
        $text | Should -Match 'HTTP 500 InternalError'
        $text | Should -Match 'request id'
        $text | Should -Not -Match 'bug'
        Invoke-Ec2EmulatorControl $emulator 'clear'
        Assert-NothingLeft 'the group and key pair made before the launch are removed'
    }

    It 'a proxy''s error page instead of an AWS answer: OpenBsdBuild.AwsServiceError with the status (Get-MetalHost)' {
        Invoke-Ec2EmulatorControl $emulator 'page 502 50'
        $listed = Get-MetalHost @aws -ErrorAction SilentlyContinue -ErrorVariable err
        Invoke-Ec2EmulatorControl $emulator 'clear'
        $listed | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OpenBsdBuild.AwsServiceError,*'
        Get-ErrorText $err[0] | Should -Match 'HTTP 502'
    }

    It 'credentials AWS rejects (<Code>): OpenBsdBuild.<Id> (<Category>), terminating, and nothing left' -ForEach @(
        @{ Code = 'AuthFailure'; Id = 'AwsCredentialsRejected'; Category = 'AuthenticationError'; Fix = 'aws sso login' }
        @{ Code = 'ExpiredToken'; Id = 'AwsCredentialsRejected'; Category = 'AuthenticationError'; Fix = 'aws sso login' }
        @{ Code = 'UnauthorizedOperation'; Id = 'AwsPermissionDenied'; Category = 'PermissionDenied'; Fix = 'RunInstances' }
    ) {
        # Met by the launch's read-only checks, before anything is made: the command ends (try/catch catches it).
        Invoke-Ec2EmulatorControl $emulator "fail * $Code 1000"
        $made = $err = $null
        try { $made = New-MetalHost @aws @launch }
        catch { $err = @($_) }
        Invoke-Ec2EmulatorControl $emulator 'clear'
        $made | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "OpenBsdBuild.$Id,*"
        $err[0].CategoryInfo.Category | Should -Be $Category
        $text = Get-ErrorText $err[0]
        $text | Should -Match $Code
        $text | Should -Match ([regex]::Escape($Fix))
        Assert-NothingLeft 'nothing was made'
    }

    It 'the launch itself is not permitted: OpenBsdBuild.AwsPermissionDenied, and the group and key pair made before it are removed' {
        Invoke-Ec2EmulatorControl $emulator 'fail RunInstances UnauthorizedOperation 1'
        $groups, $keys = (Get-Ec2RequestCount $emulator CreateSecurityGroup), (Get-Ec2RequestCount $emulator ImportKeyPair)
        $made = New-MetalHost @aws @launch -ErrorAction SilentlyContinue -ErrorVariable err
        Get-Ec2RequestCount $emulator CreateSecurityGroup | Should -Be ($groups + 1) -Because 'a group was made for the launch'
        Get-Ec2RequestCount $emulator ImportKeyPair | Should -Be ($keys + 1) -Because 'a key pair was made for the launch'
        $made | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OpenBsdBuild.AwsPermissionDenied,*'
        Assert-NothingLeft 'the failed launch removes what it made'
    }

    It 'no credentials anywhere: OpenBsdBuild.NoCredentials naming what was tried, terminating, and EC2 is never asked' {
        # A fresh pwsh with an empty HOME and no AWS variables, as on a machine never set up for AWS. The SDK would
        # otherwise ask the instance metadata service, which this machine is not.
        $scratch = Join-Path ([IO.Path]::GetTempPath()) "obb-nocreds-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
        New-Item -ItemType Directory $scratch | Out-Null
        $actions = 'DescribeImages', 'DescribeInstances', 'DescribeInstanceTypes', 'CreateSecurityGroup', 'ImportKeyPair', 'RunInstances'
        $asked = $actions | ForEach-Object { Get-Ec2RequestCount $emulator $_ }
        $script = @"
Import-Module '$ModuleManifest'
try { New-MetalHost -Region us-east-1 -EndpointUrl '$($emulator.Endpoint)' -AllowedCidr 198.51.100.7/32; 'not thrown' }
catch { `$_.FullyQualifiedErrorId; `$_.CategoryInfo.Category.ToString(); `$_.Exception.Message }
"@
        $saved = @{}
        $environment = @{ HOME = $scratch; AWS_EC2_METADATA_DISABLED = 'true'; AWS_ACCESS_KEY_ID = $null; AWS_SECRET_ACCESS_KEY = $null
                          AWS_SESSION_TOKEN = $null; AWS_PROFILE = $null; AWS_SHARED_CREDENTIALS_FILE = $null; AWS_CONFIG_FILE = $null }
        foreach ($name in $environment.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, $environment[$name]) }
        try { $seen = @(& $PwshPath -NoProfile -NonInteractive -Command $script) }
        finally {
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
            Remove-Item -Recurse -Force $scratch -ErrorAction SilentlyContinue
        }
        $seen[0] | Should -BeLike 'OpenBsdBuild.NoCredentials,*'
        $seen[1] | Should -Be 'AuthenticationError'
        $seen[2] | Should -Match 'environment variables'
        $actions | ForEach-Object { Get-Ec2RequestCount $emulator $_ } | Should -Be $asked -Because 'EC2 is never asked'
    }
}
