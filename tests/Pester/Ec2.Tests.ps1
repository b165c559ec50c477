#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The EC2 cmdlets in real pwsh against the wire-level EC2 emulator (its host program, started as a process): the
# module's own AWS SDK makes every call. -WhatIf launches nothing; -Confirm:$false (with $ConfirmPreference = 'Low',
# so that anything else would ask) launches, and a host that never answers SSH leaves nothing behind.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    Import-Module $ModuleManifest -Force
    $script:emulator = Start-Ec2Emulator
    $script:aws = @{ Region = 'us-east-1'; AccessKey = 'AKIDEXAMPLE'; SecretKey = 'secret'; EndpointUrl = $emulator.Endpoint }
    $script:state = Join-Path ([IO.Path]::GetTempPath()) "obb-ec2-pester-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    # Nothing answers SSH at the emulator's addresses: the host key is not looked up, the SSH wait is short.
    $script:launch = @{ AllowedCidr = '198.51.100.7/32'; TrustHostKey = $true; SshTimeout = [timespan]'00:00:10'; StateDirectory = $state }
}

AfterAll {
    if ($emulator) { Stop-Ec2Emulator $emulator }
    Remove-Item -Recurse -Force $state -ErrorAction SilentlyContinue
}

Describe 'EC2 cmdlets against the emulator' {
    It 'New-MetalHost -WhatIf launches nothing' {
        New-MetalHost @aws @launch -WhatIf | Should -BeNullOrEmpty
        Get-MetalHost @aws | Should -BeNullOrEmpty
    }

    It 'Invoke-OpenBsdBuild -WhatIf launches nothing' {
        # The golden image it names is read from S3 (s3rver) before anything is launched.
        $folder = Join-Path $state 'golden'
        New-Item -ItemType Directory -Force $folder | Out-Null
        $image = Join-Path $folder 'openbsd-7.8-arm64.qcow2'
        [IO.File]::WriteAllBytes($image, [byte[]]::new(4096))
        @{ name = 'openbsd-7.8'; os = 'OpenBSD'; version = '7.8'; architecture = 'arm64'; buildUser = 'builder'
           hostKeyFingerprints = @('SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'); size = 4096
           sha256 = (Get-FileHash $image -Algorithm SHA256).Hash.ToLowerInvariant(); created = '2025-09-08T00:00:00Z' } |
            ConvertTo-Json | Set-Content "$image.json"
        $s3 = Start-S3rver
        try {
            $s3aws = @{ Region = 'us-east-1'; AccessKey = $s3.AccessKey; SecretKey = $s3.SecretKey }
            Get-OpenBsdImage $folder | Publish-OpenBsdImage -Destination "s3://$($s3.Bucket)/golden/" -EndpointUrl $s3.Endpoint @s3aws
            Invoke-OpenBsdBuild @s3aws -EndpointUrl $emulator.Endpoint -S3EndpointUrl $s3.Endpoint @launch -Image "s3://$($s3.Bucket)/golden/openbsd-7.8-arm64.qcow2" `
                -KeyFile $PSCommandPath -Command make -WhatIf | Should -BeNullOrEmpty
            Get-MetalHost @aws | Should -BeNullOrEmpty
        }
        finally { Stop-S3rver $s3 }
    }

    It 'New-MetalHost -Confirm:$false launches; a host that never answers SSH is terminated with everything made for it' {
        $ConfirmPreference = 'Low'
        $err = $null
        $made = New-MetalHost @aws @launch -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable err
        $ConfirmPreference = 'High'
        $made | Should -BeNullOrEmpty
        $err | Should -Not -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'OpenBsdBuild.*'
        $err[0].FullyQualifiedErrorId | Should -Not -BeLike 'OpenBsdBuild.InvalidParameter*' -Because 'it got as far as the launch'
        Get-MetalHost @aws | Should -BeNullOrEmpty
        Get-MetalHost @aws -Orphaned | Should -BeNullOrEmpty
    }

    It 'Remove-MetalHost -InstanceId: -WhatIf keeps the instance, -Confirm:$false terminates it' {
        # A host some earlier run left: an instance with the module's run tag, launched straight through the API.
        $images = Invoke-Ec2Query $emulator.Endpoint ([ordered]@{ Action = 'DescribeImages'; Version = '2016-11-15'; 'Owner.1' = '099720109477' })
        $run = Invoke-Ec2Query $emulator.Endpoint ([ordered]@{ Action = 'RunInstances'; Version = '2016-11-15'; ImageId = @($images.DescribeImagesResponse.imagesSet.item)[0].imageId
            InstanceType = 'a1.metal'; MinCount = 1; MaxCount = 1; 'TagSpecification.1.ResourceType' = 'instance'
            'TagSpecification.1.Tag.1.Key' = 'openbsdbuild:run-id'; 'TagSpecification.1.Tag.1.Value' = 'pester' })
        $id = $run.RunInstancesResponse.instancesSet.item.instanceId
        (Get-MetalHost @aws).InstanceId | Should -Be $id
        $ConfirmPreference = 'Low'
        Remove-MetalHost -InstanceId $id @aws -WhatIf
        (Get-MetalHost @aws).InstanceId | Should -Be $id
        $report = Remove-MetalHost -InstanceId $id @aws -Wait -Confirm:$false
        $ConfirmPreference = 'High'
        $report.State | Should -Be 'terminated'
        Get-MetalHost @aws | Should -BeNullOrEmpty
    }
}
