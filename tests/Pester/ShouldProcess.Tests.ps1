#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# -WhatIf does nothing and -Confirm:$false proceeds, for every cmdlet that creates or destroys something and can be run
# here without a guest: with $ConfirmPreference = 'Low' (set after each test's own setup, whose New-Item would ask too)
# every ShouldProcess asks, so only -Confirm:$false lets a command through. Start-/Stop-OpenBsdGuest and Invoke-GuestBuild are checked
# the same way on the real guest in Guest.Tests.ps1.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    Import-Module $ModuleManifest -Force

    function New-LocalImage([string] $Folder) {
        <# A 4 KB stand-in golden image with the sidecar Get-OpenBsdImage reads. #>
        New-Item -ItemType Directory -Force $Folder | Out-Null
        $image = Join-Path $Folder 'openbsd-7.8-arm64.qcow2'
        [IO.File]::WriteAllBytes($image, [byte[]]::new(4096))
        @{ name = 'openbsd-7.8'; os = 'OpenBSD'; version = '7.8'; architecture = 'arm64'; buildUser = 'builder'
           hostKeyFingerprints = @('SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'); size = 4096
           sha256 = (Get-FileHash $image -Algorithm SHA256).Hash.ToLowerInvariant(); created = '2025-09-08T00:00:00Z' } |
            ConvertTo-Json | Set-Content "$image.json"
        $image
    }
}

Describe '-WhatIf and -Confirm:$false' -Skip:$IsWindows {
    BeforeAll {
        $script:work = Join-Path ([IO.Path]::GetTempPath()) "obb-shouldprocess-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
        New-Item -ItemType Directory $work | Out-Null
    }
    AfterAll { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }

    It 'Disconnect-MetalHost: -WhatIf keeps the connection, -Confirm:$false disconnects' {
        $h = Connect-MetalHost -Local -StateDirectory "$work/state"
        $ConfirmPreference = 'Low'
        $h | Disconnect-MetalHost -WhatIf
        $h.State | Should -Not -Be 'Disconnected'
        $h | Disconnect-MetalHost -Confirm:$false
        $h.State | Should -Be 'Disconnected'
    }

    It 'Remove-MetalHost: -WhatIf keeps the host, -Confirm:$false removes it' {
        $h = Connect-MetalHost -Local -StateDirectory "$work/state"
        $ConfirmPreference = 'Low'
        $h | Remove-MetalHost -WhatIf
        $h.State | Should -Not -Be 'Removed'
        $h | Remove-MetalHost -Confirm:$false
        $h.State | Should -Be 'Removed'
    }

    It 'Remove-OpenBsdImage: -WhatIf keeps the files, -Confirm:$false deletes image and sidecar' {
        $image = New-LocalImage "$work/remove"
        $ConfirmPreference = 'Low'
        Get-OpenBsdImage "$work/remove" | Remove-OpenBsdImage -WhatIf
        $image | Should -Exist
        Get-OpenBsdImage "$work/remove" | Remove-OpenBsdImage -Confirm:$false
        $image | Should -Not -Exist
        "$image.json" | Should -Not -Exist
    }

    It 'Publish-OpenBsdImage: -WhatIf uploads nothing, -Confirm:$false publishes to a real S3 server (s3rver)' {
        New-LocalImage "$work/publish" | Out-Null
        $s3 = Start-S3rver
        $ConfirmPreference = 'Low'
        try {
            $aws = @{ EndpointUrl = $s3.Endpoint; Region = $s3.Region; AccessKey = $s3.AccessKey; SecretKey = $s3.SecretKey }
            Get-OpenBsdImage "$work/publish" | Publish-OpenBsdImage -Destination "s3://$($s3.Bucket)/golden/" @aws -WhatIf
            @(Get-OpenBsdImage "s3://$($s3.Bucket)/golden/" @aws) | Should -HaveCount 0
            Get-OpenBsdImage "$work/publish" | Publish-OpenBsdImage -Destination "s3://$($s3.Bucket)/golden/" @aws -Confirm:$false
            @(Get-OpenBsdImage "s3://$($s3.Bucket)/golden/" @aws).Version | Should -Be '7.8'
        }
        finally {
            $ConfirmPreference = 'High'
            Stop-S3rver $s3
        }
    }

    It 'New-OpenBsdImage: -WhatIf writes nothing, -Confirm:$false goes on to the install (and stops at the bad media)' {
        $media = Join-Path $work 'install78.img'
        [IO.File]::WriteAllBytes($media, [byte[]]::new(4096))
        $output = Join-Path $work 'out/openbsd-7.8-arm64.qcow2'
        $image = @{ Version = '7.8'; InstallMedia = $media; BuildUserKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH7m0xqv3JqkY0nKcD9kW5Q0V4Pp8k2a7mV7b3m5o1Xy build@ci'; Output = $output }
        $err = $null
        $ConfirmPreference = 'Low'
        Connect-MetalHost -Local -StateDirectory "$work/state" | New-OpenBsdImage @image -WhatIf -ErrorVariable err
        $err | Should -BeNullOrEmpty
        $output | Should -Not -Exist
        Connect-MetalHost -Local -StateDirectory "$work/state" | New-OpenBsdImage @image -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        $err | Should -Not -BeNullOrEmpty -Because 'a 4 KB file of zeros is no install media: the install was attempted'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OpenBsdBuild.*'
        $err[0].FullyQualifiedErrorId | Should -Not -BeLike 'OpenBsdBuild.InvalidParameter*'
        $output | Should -Not -Exist
    }
}
