#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The pipeline's object types are usable from scripts (names, -is, casts, New-MockObject), while the engine and its
# SDKs stay in their own load context, also next to other modules' versions of those SDKs (as AWS.Tools loads them).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    Import-Module $ModuleManifest -Force
}

Describe 'Model types in scripts' {
    It 'resolves [OpenBsdBuild.Model.<_>] by name' -ForEach 'MetalHost', 'OpenBsdGuest', 'GuestBuildResult', 'BuildArtifact', 'OpenBsdImage' {
        "OpenBsdBuild.Model.$_" -as [type] | Should -Not -BeNullOrEmpty
    }

    It 'gives every cmdlet output type a name scripts can resolve' {
        foreach ($command in Get-Command -Module OpenBsdBuild) {
            foreach ($type in $command.OutputType.Type | Where-Object { $_ -and $_ -ne [void] }) {
                $type.FullName -as [type] | Should -Be $type -Because "$($command.Name) outputs $($type.FullName)"
            }
        }
    }

    It 'makes objects that are -is and cast to the named type' -Skip:$IsWindows {
        $h = Connect-MetalHost -Local
        try {
            $h -is [OpenBsdBuild.Model.MetalHost] | Should -BeTrue
            ([OpenBsdBuild.Model.MetalHost] $h).Name | Should -Be $h.Name
            $h.Provider -eq [OpenBsdBuild.Model.HostProvider]::Local | Should -BeTrue
        } finally { $h | Remove-MetalHost }
    }

    It 'lets New-MockObject make a <_> that a typed parameter accepts' -ForEach 'MetalHost', 'OpenBsdGuest', 'GuestBuildResult', 'OpenBsdImage', 'BuildArtifact' {
        $mock = New-MockObject -Type ("OpenBsdBuild.Model.$_" -as [type])
        $mock.GetType().FullName | Should -Be "OpenBsdBuild.Model.$_"
        $typed = [scriptblock]::Create("param([Parameter(Mandatory)] [OpenBsdBuild.Model.$_] `$InputObject) `$InputObject.GetType().Name")
        & $typed $mock | Should -Be $_
    }

    It 'loads the model in the default context and the engine outside it' -Skip:$IsWindows {
        $null = Connect-MetalHost -Local | Remove-MetalHost
        $default = [System.Runtime.Loader.AssemblyLoadContext]::Default
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext([OpenBsdBuild.Model.MetalHost].Assembly) | Should -Be $default
        $engine = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'OpenBsdBuild.Engine' }
        $engine | Should -HaveCount 1
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine) | Should -Not -Be $default
    }
}

Describe 'Next to AWS.Tools-style assemblies' -Skip:$IsWindows {
    BeforeAll {
        # Other versions of the SDKs, loaded first into the default context, as AWS.Tools and Posh-SSH do.
        $script:others = Get-ChildItem (Join-Path $RepoRoot 'tests/OpenBsdBuild.IsolationHost/bin') -Recurse -Filter AWSSDK.Core.dll |
            Select-Object -First 1 | ForEach-Object DirectoryName
        if (-not $others) { throw 'Build tests/OpenBsdBuild.IsolationHost first (dotnet build OpenBsdBuild.sln): it holds AWSSDK.Core 3.7 and SSH.NET 2024.2' }
        $script:s3 = Start-S3rver
    }
    AfterAll { if ($s3) { Stop-S3rver $s3 } }

    It 'names its types and reaches S3 with its own SDK while another AWSSDK.Core is loaded' {
        $script = @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$others/AWSSDK.Core.dll', '$others/Renci.SshNet.dll'
Import-Module '$ModuleManifest'
`$h = Connect-MetalHost -Local
"is MetalHost: `$(`$h -is [OpenBsdBuild.Model.MetalHost])"
`$h | Remove-MetalHost
`$images = @(Get-OpenBsdImage -Location 's3://$($s3.Bucket)/' -EndpointUrl '$($s3.Endpoint)' -Region $($s3.Region) -AccessKey $($s3.AccessKey) -SecretKey $($s3.SecretKey))
"images: `$(`$images.Count)"
foreach (`$a in [AppDomain]::CurrentDomain.GetAssemblies()) {
    if (`$a.GetName().Name -in 'AWSSDK.Core', 'Renci.SshNet', 'OpenBsdBuild.Engine', 'OpenBsdBuild.Model') {
        "loaded `$(`$a.GetName().Name) `$(`$a.GetName().Version) `$([System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$a).GetType().Name)"
    }
}
"@
        $output = & $PwshPath -NoProfile -NonInteractive -Command $script 2>&1 | Out-String
        $LASTEXITCODE | Should -Be 0 -Because $output
        $output | Should -Match 'is MetalHost: True'
        $output | Should -Match 'images: 0'
        $output | Should -Match 'loaded AWSSDK.Core 3\.3\.0\.0 DefaultAssemblyLoadContext'
        $output | Should -Match 'loaded AWSSDK.Core 4\.0\.0\.0 DependencyLoadContext'
        $output | Should -Match 'loaded Renci.SshNet 2024\.2\.0\.1 DefaultAssemblyLoadContext'
        $output | Should -Match 'loaded OpenBsdBuild.Model 0\.1\.0\.0 DefaultAssemblyLoadContext'
        $output | Should -Match 'loaded OpenBsdBuild.Engine \S+ DependencyLoadContext'
    }
}
