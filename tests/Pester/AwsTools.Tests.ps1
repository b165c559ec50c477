#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# AWS.Tools users keep their habits: an AWSCredentials object for -Credential, the session's $StoredAWSCredentials and
# $StoredAWSRegion (Set-AWSCredential, Set-DefaultAWSRegion), -AK/-SK. Checked against a real S3 server (s3rver, which
# refuses other keys) in a fresh pwsh that holds AWS.Tools' AWSSDK.Core (3.7) as AWS.Tools would.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    $script:others = Get-ChildItem (Join-Path $RepoRoot 'tests/OpenBsdBuild.IsolationHost/bin') -Recurse -Filter AWSSDK.Core.dll |
        Select-Object -First 1 | ForEach-Object DirectoryName
    if (-not $others) { throw 'Build tests/OpenBsdBuild.IsolationHost first (dotnet build OpenBsdBuild.sln): it holds AWSSDK.Core 3.7' }
    $script:s3 = Start-S3rver

    # Runs $Script in a fresh pwsh after AWS.Tools' AWSSDK.Core is loaded; $s3 and $location are set for it.
    function Invoke-AsAwsToolsUser([string] $Script) {
        $code = @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$others/AWSSDK.Core.dll'
Import-Module '$ModuleManifest'
`$endpoint = '$($s3.Endpoint)'; `$location = 's3://$($s3.Bucket)/'
$Script
"@
        $env:AWS_ACCESS_KEY_ID, $env:AWS_SECRET_ACCESS_KEY, $env:AWS_REGION = $null
        & $PwshPath -NoProfile -NonInteractive -Command $code 2>&1 | Out-String
    }
}
AfterAll { if ($s3) { Stop-S3rver $s3 } }

Describe 'AWS.Tools conventions' -Skip:$IsWindows {
    It 'takes an AWSCredentials object for -Credential' {
        $out = Invoke-AsAwsToolsUser @'
$creds = [Amazon.Runtime.BasicAWSCredentials]::new('S3RVER', 'S3RVER')
$images = @(Get-OpenBsdImage -Location $location -EndpointUrl $endpoint -Region us-east-1 -Credential $creds)
"listed $($images.Count)"
'@
        $out | Should -Match 'listed 0' -Because $out
    }

    It 'uses $StoredAWSCredentials and $StoredAWSRegion when the call names none' {
        $out = Invoke-AsAwsToolsUser @'
$StoredAWSCredentials = [Amazon.Runtime.BasicAWSCredentials]::new('S3RVER', 'S3RVER')
$StoredAWSRegion = 'us-east-1'
$images = @(Get-OpenBsdImage -Location $location -EndpointUrl $endpoint)
"listed $($images.Count)"
'@
        $out | Should -Match 'listed 0' -Because $out
    }

    It 'really sends the stored credentials (wrong ones are refused by the server)' {
        $out = Invoke-AsAwsToolsUser @'
$StoredAWSCredentials = [Amazon.Runtime.BasicAWSCredentials]::new('NOTS3RVER', 'wrong')
$StoredAWSRegion = 'us-east-1'
try { Get-OpenBsdImage -Location $location -EndpointUrl $endpoint; 'listed' } catch { "refused $($_.FullyQualifiedErrorId)" }
'@
        $out | Should -Match 'refused OpenBsdBuild\.' -Because $out
    }

    It 'lets parameters win over the stored values' {
        $out = Invoke-AsAwsToolsUser @'
$StoredAWSCredentials = [Amazon.Runtime.BasicAWSCredentials]::new('NOTS3RVER', 'wrong')
$images = @(Get-OpenBsdImage -Location $location -EndpointUrl $endpoint -Region us-east-1 -AK S3RVER -SK S3RVER)
"listed $($images.Count)"
'@
        $out | Should -Match 'listed 0' -Because $out
    }

    It 'has the AWS.Tools aliases on <_>' -ForEach 'Get-MetalHost', 'New-MetalHost', 'Remove-MetalHost', 'Invoke-OpenBsdBuild', 'Get-OpenBsdImage', 'Publish-OpenBsdImage', 'Remove-OpenBsdImage', 'Start-OpenBsdGuest' {
        Import-Module $ModuleManifest
        $parameters = (Get-Command $_).Parameters
        $parameters.AccessKey.Aliases | Should -Contain 'AK'
        $parameters.SecretKey.Aliases | Should -Contain 'SK'
        $parameters.SessionToken.Aliases | Should -Contain 'ST'
        $parameters.Region.Aliases | Should -Contain 'RegionToCall'
        $parameters.ProfileName.Aliases | Should -Contain 'StoredCredentials'
    }

    It 'refuses a -Credential that is neither kind, naming what it takes' {
        Import-Module $ModuleManifest
        { Get-OpenBsdImage -Location s3://images/ -Credential (Get-Date) } | Should -Throw '*AWSCredentials*PSCredential*'
    }
}
