#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Public-surface tests for people with pwsh and Pester 5: ./build.ps1 -Test runs them after the xunit suite.
# They need no QEMU, SSH server or AWS: everything here fails (or is skipped by -WhatIf) before a machine is touched.

BeforeAll {
    $root = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $manifest = Join-Path $root 'out/OpenBsdBuild/OpenBsdBuild.psd1'
    if (-not (Test-Path $manifest)) { throw "Build first: dotnet build (expected $manifest)" }
    Import-Module $manifest -Force
}

Describe 'Module surface' {
    It 'exports exactly the cmdlets the manifest lists' {
        $data = Import-PowerShellDataFile $manifest
        $exported = (Get-Module OpenBsdBuild).ExportedCmdlets.Keys | Sort-Object
        $exported | Should -Be ($data.CmdletsToExport | Sort-Object)
    }

    It 'marks every cmdlet that creates or destroys something with SupportsShouldProcess' -ForEach @(
        'Start-OpenBsdGuest', 'Stop-OpenBsdGuest', 'Invoke-GuestBuild', 'Remove-MetalHost', 'Disconnect-MetalHost', 'New-MetalHost',
        'Invoke-OpenBsdBuild', 'New-OpenBsdImage', 'Publish-OpenBsdImage', 'Remove-OpenBsdImage'
    ) {
        (Get-Command $_).Parameters.Keys | Should -Contain 'WhatIf'
        (Get-Command $_).Parameters.Keys | Should -Contain 'Confirm'
    }
}

Describe 'Login user names' {
    It '-User is the login on the machine <_> reaches or builds on' -ForEach 'Connect-MetalHost', 'Start-OpenBsdGuest', 'Invoke-GuestBuild', 'Invoke-OpenBsdBuild', 'New-OpenBsdImage' {
        (Get-Command $_).Parameters.Keys | Should -Contain 'User'
    }

    It '-HostUser is the login on the host <_> launches, and -SshUser still works' -ForEach 'New-MetalHost', 'Invoke-OpenBsdBuild' {
        (Get-Command $_).Parameters['HostUser'].Aliases | Should -Contain 'SshUser'
        (Get-Command $_).Parameters.Keys | Should -Not -Contain 'SshUser'
    }

    It 'keeps the old names as aliases' {
        (Get-Command Connect-MetalHost).Parameters['User'].Aliases | Should -Contain 'HostUser'
        (Get-Command New-OpenBsdImage).Parameters['User'].Aliases | Should -Contain 'BuildUser'
        (Get-Command New-OpenBsdImage).Parameters['UserKey'].Aliases | Should -Contain 'BuildUserKey'
    }
}

Describe 'Connect-MetalHost' {
    It 'refuses an SSH host with neither a fingerprint nor -TrustHostKey, before connecting' {
        $key = New-TemporaryFile
        try {
            { Connect-MetalHost -HostName 192.0.2.1 -KeyFile $key -ErrorAction Stop } |
                Should -Throw -ErrorId 'OpenBsdBuild.HostKeyRequired,OpenBsdBuild.Commands.ConnectMetalHostCommand'
        } finally { Remove-Item $key }
    }

    # A bad parameter value stops the command, as PowerShell's own parameter validation does.
    It 'rejects a malformed fingerprint and names the parameter' {
        $err = { Connect-MetalHost -HostName 192.0.2.1 -KeyFile $PSCommandPath -HostKeyFingerprint 'MD5:aa' } |
            Should -Throw -ErrorId 'OpenBsdBuild.InvalidParameter.HostKeyFingerprint,*' -PassThru
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.TargetObject | Should -Be 'MD5:aa'
    }
}

Describe 'Start-OpenBsdGuest' {
    BeforeAll {
        if ($IsWindows) { return }
        $script:local = Connect-MetalHost -Local
    }
    AfterAll { if ($script:local) { $script:local | Remove-MetalHost } }

    It '-WhatIf starts nothing' -Skip:$IsWindows {
        $guest = $script:local | Start-OpenBsdGuest -Image /nonexistent.qcow2 -TrustHostKey -KeyFile $PSCommandPath -WhatIf
        $guest | Should -BeNullOrEmpty
    }

    It 'reports a missing image as ObjectNotFound with the path as target' -Skip:$IsWindows {
        $err = $null
        $script:local | Start-OpenBsdGuest -Image /nonexistent.qcow2 -TrustHostKey -KeyFile $PSCommandPath -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OpenBsdBuild.ImageNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be '/nonexistent.qcow2'
    }
}

Describe 'Verbose' {
    It 'names each command the engine runs and where, only when asked' -Skip:$IsWindows {
        $verbose = Connect-MetalHost -Local -Verbose 4>&1 | ForEach-Object {
            if ($_ -is [System.Management.Automation.VerboseRecord]) { $_.Message } else { $_ | Remove-MetalHost }
        }
        $verbose | Where-Object { $_ -like 'local: echo "arch=*' } | Should -HaveCount 1
        $quiet = Connect-MetalHost -Local 4>&1 | ForEach-Object {
            if ($_ -is [System.Management.Automation.VerboseRecord]) { $_.Message } else { $_ | Remove-MetalHost }
        }
        $quiet | Should -BeNullOrEmpty
    }
}

Describe 'Invoke-GuestBuild' {
    It 'rejects a missing guest at binding time' {
        { Invoke-GuestBuild -Guest $null -Command true } | Should -Throw
    }
}

Describe 'Help' {
    It 'has a synopsis and at least two examples for <_>' -ForEach (Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../OpenBsdBuild.psd1')).CmdletsToExport {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
    }
}

Describe 'Images' {
    It 'lists the images of a local folder newest first' {
        $folder = Join-Path ([IO.Path]::GetTempPath()) ([Guid]::NewGuid())
        New-Item -ItemType Directory $folder | Out-Null
        try {
            foreach ($v in '7.7', '7.8') {
                $image = Join-Path $folder "openbsd-$v-arm64.qcow2"
                [IO.File]::WriteAllBytes($image, [byte[]]::new(4096))
                $sha = (Get-FileHash $image -Algorithm SHA256).Hash.ToLowerInvariant()
                @{ name = "openbsd-$v"; os = 'OpenBSD'; version = $v; architecture = 'arm64'; buildUser = 'builder'
                   hostKeyFingerprints = @('SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'); size = 4096; sha256 = $sha
                   created = "2025-09-0$($v.Substring(2))T00:00:00Z" } | ConvertTo-Json | Set-Content "$image.json"
            }
            (Get-OpenBsdImage $folder).Version | Should -Be @('7.8', '7.7')
        }
        finally { Remove-Item -Recurse -Force $folder }
    }

    It 'refuses a version it does not know before touching anything' {
        { Connect-MetalHost -Local | New-OpenBsdImage -Version 99 -InstallMedia ./install99.img -BuildUserKey 'ssh-ed25519 AAAA x' -Output ./x.qcow2 -ErrorAction Stop } |
            Should -Throw -ErrorId 'OpenBsdBuild.InvalidParameter.Version,*'
    }
}

Describe 'Completion' {
    It 'completes metal instance types for the architecture' {
        $line = 'New-MetalHost -Architecture amd64 -InstanceType c5'
        (TabExpansion2 $line $line.Length).CompletionMatches.CompletionText | Should -Contain 'c5.metal'
    }
}

Describe 'Manifest and help topics' {
    It 'ships the license its manifest points at' {
        $data = Import-PowerShellDataFile $manifest
        $data.PrivateData.PSData.LicenseUri | Should -BeLike '*/blob/main/LICENSE'
        Join-Path $root 'LICENSE' | Should -Exist
        Get-Content (Join-Path $root 'LICENSE') -TotalCount 1 | Should -Be 'MIT License'
        $data.Copyright | Should -Match 'MIT'
    }

    It 'has release notes for the version it is' {
        $data = Import-PowerShellDataFile $manifest
        $data.PrivateData.PSData.ReleaseNotes | Should -Match "^$([regex]::Escape($data.ModuleVersion)):"
    }

    It 'opens the online page of <_> with Get-Help -Online, and every related link has a URI' -ForEach (Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../OpenBsdBuild.psd1')).CmdletsToExport {
        (Get-Command $_).HelpUri | Should -Be "https://github.com/openbsdbuild/OpenBsdBuild/blob/main/docs/$_.md"
        foreach ($link in (Get-Help $_).relatedLinks.navigationLink) { $link.uri | Should -Match '^https://' -Because $link.linkText }
    }

    It 'has an about_OpenBsdBuild topic' {
        $topic = Get-Help about_OpenBsdBuild | Out-String
        $topic | Should -Match 'about_OpenBsdBuild'
        $topic | Should -Match 'StoredAWSRegion'
    }
}

Describe 'Completion of images' {
    BeforeAll {
        $script:folder = Join-Path ([IO.Path]::GetTempPath()) ([Guid]::NewGuid())
        New-Item -ItemType Directory "$folder/imgs/older" | Out-Null
        foreach ($v in '7.7', '7.8') {
            $image = Join-Path "$folder/imgs" "openbsd-$v-arm64.qcow2"
            [IO.File]::WriteAllBytes($image, [byte[]]::new(4096))
            $sha = (Get-FileHash $image -Algorithm SHA256).Hash.ToLowerInvariant()
            @{ name = "openbsd-$v"; os = 'OpenBSD'; version = $v; architecture = 'arm64'; buildUser = 'builder'
               hostKeyFingerprints = @('SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'); size = 4096; sha256 = $sha
               created = "2025-09-0$($v.Substring(2))T00:00:00Z" } | ConvertTo-Json | Set-Content "$image.json"
        }
        Set-Content "$folder/imgs/notes.txt" 'not an image'
        Push-Location $folder
    }
    AfterAll {
        Pop-Location
        Remove-Item -Recurse -Force $folder
    }

    It 'offers images and folders for -Image, not notes or metadata sidecars' {
        $line = 'Start-OpenBsdGuest -Image ./imgs/'
        $offered = (TabExpansion2 $line $line.Length).CompletionMatches.CompletionText
        $offered | Should -Contain './imgs/openbsd-7.8-arm64.qcow2'
        $offered | Should -Contain './imgs/older/'
        $offered | Should -Not -Contain './imgs/notes.txt'
        $offered | Should -Not -Contain './imgs/openbsd-7.8-arm64.qcow2.json'
    }

    It 'offers the images under an s3:// prefix for -Image, from the endpoint and keys already typed' -Skip:$IsWindows {
        . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
        $s3 = Start-S3rver
        try {
            $aws = "-EndpointUrl $($s3.Endpoint) -Region us-east-1 -AccessKey $($s3.AccessKey) -SecretKey $($s3.SecretKey)"
            Get-OpenBsdImage ./imgs | Publish-OpenBsdImage -Destination "s3://$($s3.Bucket)/golden/" -EndpointUrl $s3.Endpoint -Region us-east-1 `
                -AccessKey $s3.AccessKey -SecretKey $s3.SecretKey
            $line = "Start-OpenBsdGuest $aws -Image s3://$($s3.Bucket)/golden/openbsd-7"
            $offered = (TabExpansion2 $line $line.Length).CompletionMatches.CompletionText
            $offered | Should -Be "s3://$($s3.Bucket)/golden/openbsd-7.7-arm64.qcow2", "s3://$($s3.Bucket)/golden/openbsd-7.8-arm64.qcow2"
        }
        finally { Stop-S3rver $s3 }
    }

    It 'reads a relative -Location against $PWD for -Version' {
        $line = 'Get-OpenBsdImage -Location ./imgs -Version '
        (TabExpansion2 $line $line.Length).CompletionMatches.CompletionText | Should -Be @('7.8', '7.7')
    }
}
