# What DocsRun.Tests.ps1 does with each PowerShell block of the README and docs/*.md, keyed '<page>#<n>' (n counts the
# page's powershell blocks from 1). Starts: the block's first line begins so (a moved or rewritten block fails until this
# plan follows it). Then one of:
#   RunBy   the test file that runs the block as printed;
#   NotHere why the block cannot run on this machine: one of $NotHere's reasons (kept short, and each says what it lacks);
#   Needs   the block runs here verbatim in a fresh pwsh on the prepared machine (DocsRun.Tests.ps1). Needs lists the
#           parts it uses (Local: this machine as host, booting the test guest; Ec2: the emulator; Metal: the netns sshd
#           host behind the emulator's instances, where the user data runs; S3: s3rver).
#           Given: PowerShell run before the block, defining what the page says the reader already has (as printed
#           in an earlier block or the text). Arrange: runs in the test before it ($M: the machine). Then: asserts what
#           the page says the block does ($Run: Output, Text, Errors, Thrown, Variables; $M).

$NotHere = @{
    TcgBudget = 'runs here (the metal host behind the emulator), but boots two more QEMU guests under TCG, minutes of CI on every run; New-MetalHost.md#2 runs the same path (a golden image fetched at bootstrap, a guest on the metal host)'
    SshBox   = 'needs an SSH build box named build1.example.net/com with the printed host key fingerprint'
    Install  = 'installs OpenBSD: from cdn.openbsd.org (no network here), its sets checked with the release''s real signify key (./openbsd-78-base.pub) and packages (rust, git) added from its mirror, or interactively from install78.img with a package folder; xunit''s Images tests run New-OpenBsdImage end to end against the fixture''s install media, which has no real sets, signatures or packages'
    OwnImage = 'boots the reader''s own image (/srv/images/custom.qcow2) pinned to its host key fingerprint, which no image here has'
    Toolchain = 'builds with a toolchain the test guest lacks (cargo, make) or clones from the internet (the EC2 part runs: the metal host behind the emulator)'
    Native   = 'needs a native OpenBSD instance from an AMI: only the xunit NativeInstanceTests wire one to a QEMU guest'
    AwsTools = 'pipes AWS.Tools output (Get-EC2Instance), which is not installed here'
    Clone    = 'clones the repository from github.com (no network here); the README main job runs the same build and import'
    FixedId  = 'names a fixed instance id that only AWS assigns (the emulator makes its own; AMIs a page names are copied under theirs)'
    MinioLan = 'names a MinIO server at minio.lan:9000'
}

$DocsPlan = [ordered]@{
    'README.md#1' = @{ Starts = '# Run the main job'; RunBy = 'Readme.Tests.ps1' }

    'docs/Connect-MetalHost.md#1' = @{ Starts = 'Connect-MetalHost -Local | Start-OpenBsdGuest'; Needs = 'Local'
        Then = {
            $Run.Output | Should -HaveCount 1
            $Run.Output[0].State | Should -BeLike 'Running*'
            $Run.Output[0].Host.Name | Should -Be 'local'
            (Get-DocsGuest $M).Name | Should -Contain $Run.Output[0].Name -Because 'the guest keeps running after the block'
        } }
    'docs/Connect-MetalHost.md#2' = @{ Starts = '$fingerprint = '; NotHere = 'SshBox' }
    'docs/Connect-MetalHost.md#3' = @{ Starts = 'Get-EC2Instance'; NotHere = 'AwsTools' }

    'docs/Disconnect-MetalHost.md#1' = @{ Starts = 'Connect-MetalHost -Local | Start-OpenBsdGuest'; NotHere = 'Toolchain' }
    'docs/Disconnect-MetalHost.md#2' = @{ Starts = '$box = Connect-MetalHost -HostName build1'; NotHere = 'SshBox' }

    'docs/Get-MetalHost.md#1' = @{ Starts = 'Get-MetalHost -Region eu-west-1'; Needs = 'Ec2'
        Arrange = { $script:seeded = New-DocsEc2Host $M 'eu-west-1' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output.InstanceId | Should -Contain $seeded
            $Run.Text | Should -Match $seeded
        } }
    'docs/Get-MetalHost.md#2' = @{ Starts = 'Get-MetalHost -Region eu-west-1 -Orphaned'; Needs = 'Ec2'
        Arrange = { $script:leftover = New-DocsEc2Leftover $M 'eu-west-1'; (Get-DocsEc2State $M 'eu-west-1') | Should -HaveCount 2 }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            Get-DocsEc2State $M 'eu-west-1' | Should -BeNullOrEmpty -Because 'the leftover group and key pair are removed'
        } }
    'docs/Get-MetalHost.md#3' = @{ Starts = "'eu-west-1', 'us-east-1', 'us-west-2' | ForEach-Object -Parallel"; Needs = 'Ec2'
        Arrange = { $script:seeded = 'eu-west-1', 'us-west-2' | ForEach-Object { New-DocsEc2Host $M $_ } }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            foreach ($id in $seeded) { $Run.Output.InstanceId | Should -Contain $id }
            $Run.Output.Region | Should -Contain 'us-west-2'
        } }

    'docs/Get-OpenBsdAmi.md#1' = @{ Starts = 'Get-OpenBsdAmi -Region eu-west-1'; Needs = 'Ec2', 'S3'
        Arrange = { $script:ami = Register-DocsAmi $M '7.8' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output.ImageId | Should -Contain $ami.ImageId
            $Run.Text | Should -Match $ami.ImageId
        } }
    'docs/Get-OpenBsdAmi.md#2' = @{ Starts = '$image = Get-OpenBsdImage ~/images/openbsd-7.8-arm64-ec2.qcow2'; Needs = 'Ec2', 'S3'
        Arrange = { $script:ami = Register-DocsAmi $M '7.8' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Variables.image.Sha256 | Should -Be $M.Ec2ImageSha256
            $Run.Text | Should -Match "ImageId\s*:\s*$($ami.ImageId)" -Because 'the AMI made from that image is listed'
        } }

    'docs/Get-OpenBsdGuest.md#1' = @{ Starts = 'Get-OpenBsdGuest'; Needs = 'Local'
        Arrange = { Wait-DocsGuest $M }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output.Name | Should -Contain 'ci-docs' -Because 'another process started it'
            $Run.Text | Should -Match 'ci-docs'
        } }
    'docs/Get-OpenBsdGuest.md#2' = @{ Starts = '$box = Connect-MetalHost -HostName build1'; NotHere = 'SshBox' }

    'docs/Get-OpenBsdImage.md#1' = @{ Starts = 'Get-OpenBsdImage s3://release-images/openbsd/ -Region eu-west-1'; Needs = 'S3'
        Arrange = { Publish-DocsImage $M 'release-images/openbsd/' '7.7', '7.8' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output.Version | Should -Be '7.8', '7.7' -Because 'newest first'
            $Run.Output | ForEach-Object { $_.Location | Should -BeLike 's3://release-images/openbsd/*' }
        } }
    'docs/Get-OpenBsdImage.md#2' = @{ Starts = '$image = Get-OpenBsdImage s3://release-images/openbsd/'; Needs = 'Ec2', 'Metal', 'S3'
        Arrange = { Publish-DocsImage $M 'release-images/openbsd/' '7.7', '7.8' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Variables.image.Version | Should -Be '7.8' -Because 'the newest 7.x comes first'
            $Run.Variables.metal.InstanceType | Should -Be 'c7g.metal'
            $Run.Variables.metal.HostKeyFingerprint | Should -Be $M.Metal.HostKeyFingerprint -Because 'the host booted and its key was pinned from the console'
            $golden = $Run.Variables.metal.GoldenImagePath
            $golden | Should -Exist -Because 'the host fetched the image as it booted'
            (Get-FileHash $golden -Algorithm SHA256).Hash | Should -Be $Run.Variables.image.Sha256
            Get-DocsEc2State $M 'eu-west-1' | Should -Contain $Run.Variables.metal.InstanceId -Because 'the host is the reader''s until removed'
        } }
    'docs/Get-OpenBsdImage.md#3' = @{ Starts = 'Get-OpenBsdImage ~/images | Format-List *'; Needs = 'Local'
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Text | Should -Match 'openbsd-7\.8-arm64\.qcow2'
            $Run.Text | Should -Match ('Sha256\s*:\s*' + $M.ImageSha256)
        } }

    'docs/Invoke-GuestBuild.md#1' = @{ Starts = '$guest = Connect-MetalHost -Local'; NotHere = 'Toolchain' }
    'docs/Invoke-GuestBuild.md#2' = @{ Starts = '$token = Read-Host'; NotHere = 'Toolchain' }
    'docs/Invoke-GuestBuild.md#3' = @{ Starts = '$metal = New-MetalHost'; NotHere = 'Toolchain' }

    'docs/Invoke-OpenBsdBuild.md#1' = @{ Starts = 'Invoke-OpenBsdBuild -Region eu-west-1'; NotHere = 'Toolchain' }
    'docs/Invoke-OpenBsdBuild.md#2' = @{ Starts = 'Invoke-OpenBsdBuild -Region eu-west-1'; NotHere = 'Toolchain' }
    'docs/Invoke-OpenBsdBuild.md#3' = @{ Starts = 'Connect-MetalHost -HostName build1'; NotHere = 'SshBox' }
    'docs/Invoke-OpenBsdBuild.md#4' = @{ Starts = 'Invoke-OpenBsdBuild -Native'; NotHere = 'Native' }

    'docs/New-MetalHost.md#1' = @{ Starts = '$metal = New-MetalHost -Region eu-west-1'; Needs = 'Ec2', 'Metal'
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Text | Should -Match '(?m)^State\s*:\s*Ready'
            $Run.Variables.metal.Region | Should -Be 'eu-west-1'
            $Run.Variables.metal.HostKeyFingerprint | Should -Be $M.Metal.HostKeyFingerprint -Because 'the host booted and its key was pinned from the console'
            foreach ($field in 'Name', 'InstanceType', 'State', 'PricePerHour', 'ExpiresAt') { $Run.Text | Should -Match "(?m)^$field\s*:\s*\S" }
            $Run.Text | Should -Match "InstanceType\s*:\s*$([regex]::Escape($Run.Variables.metal.InstanceType))"
            Get-DocsEc2State $M 'eu-west-1' | Should -Contain $Run.Variables.metal.InstanceId -Because 'the host is the reader''s until removed'
        } }
    'docs/New-MetalHost.md#2' = @{ Starts = '$metal = New-MetalHost -Region us-east-1'; Needs = 'Ec2', 'Metal', 'S3'
        Arrange = { Publish-DocsGuestImage $M 's3://releases/golden/' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Variables.metal.Spot | Should -BeTrue -Because 'c7g.metal had spot capacity'
            $Run.Variables.metal.InstanceType | Should -Be 'c7g.metal'
            $Run.Variables.metal.GoldenImagePath | Should -Exist -Because 'the host fetched the golden image as it booted'
            $Run.Output | Should -HaveCount 1
            $Run.Output[0].State | Should -BeLike 'Running*'
            $Run.Output[0].HostKeyFingerprint | Should -Be $M.Guest.HostKeyFingerprint -Because 'the guest''s key is pinned from the image''s metadata'
            $Run.Output[0].User | Should -Be 'build' -Because 'the image''s build user logs in'
        } }
    'docs/New-MetalHost.md#3' = @{ Starts = 'New-MetalHost -Region eu-west-1 -InstanceType c6g.metal'; Needs = 'Ec2'
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output | Should -BeNullOrEmpty
            Get-DocsEc2State $M 'eu-west-1' | Should -BeNullOrEmpty -Because '-WhatIf launches nothing'
        } }

    'docs/New-OpenBsdImage.md#1' = @{ Starts = 'Connect-MetalHost -Local |'; NotHere = 'Install' }
    'docs/New-OpenBsdImage.md#2' = @{ Starts = 'Connect-MetalHost -Local |'; NotHere = 'Install' }
    'docs/New-OpenBsdImage.md#3' = @{ Starts = '$metal = New-MetalHost'; NotHere = 'Install' }
    'docs/New-OpenBsdImage.md#4' = @{ Starts = 'Connect-MetalHost -Local |'; NotHere = 'Install' }

    'docs/New-OpenBsdInstance.md#1' = @{ Starts = 'New-OpenBsdInstance ami-0a1b2c3d4e5f60718 -Region eu-west-1 |'; NotHere = 'Native' }
    'docs/New-OpenBsdInstance.md#2' = @{ Starts = '$i = New-OpenBsdInstance'; NotHere = 'Native' }
    'docs/New-OpenBsdInstance.md#3' = @{ Starts = 'New-OpenBsdInstance ami-0a1b2c3d4e5f60718 -InstanceType c6g.xlarge'; Needs = 'Ec2', 'S3'
        Arrange = { Copy-DocsAmi $M 'ami-0a1b2c3d4e5f60718' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output | Should -BeNullOrEmpty
            $Run.Log | Should -Match 'What if: .*ami-0a1b2c3d4e5f60718'
            Get-DocsEc2State $M 'eu-west-1' | Should -BeNullOrEmpty -Because '-WhatIf launches nothing'
        } }

    'docs/Publish-OpenBsdImage.md#1' = @{ Starts = 'Connect-MetalHost -Local | New-OpenBsdImage'; NotHere = 'Install' }
    'docs/Publish-OpenBsdImage.md#2' = @{ Starts = 'Get-OpenBsdImage ~/images | Publish-OpenBsdImage'; NotHere = 'MinioLan' }

    'docs/Register-OpenBsdAmi.md#1' = @{ Starts = 'Connect-MetalHost -Local | New-OpenBsdImage'; NotHere = 'Install' }
    'docs/Register-OpenBsdAmi.md#2' = @{ Starts = 'Register-OpenBsdAmi ~/images/openbsd-7.8-arm64-ec2.qcow2'; Needs = 'Ec2', 'S3'
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output | Should -HaveCount 1
            $Run.Output[0].ImageId | Should -BeLike 'ami-*'
            $Run.Output[0].Name | Should -Be 'openbsd-7.8-ena-2026-12'
            $Run.Output[0].ImageSha256 | Should -Be $M.Ec2ImageSha256
        } }
    'docs/Register-OpenBsdAmi.md#3' = @{ Starts = 'Get-OpenBsdImage ~/images -Version 7.8 | Register-OpenBsdAmi'; Needs = 'Ec2', 'S3'
        Arrange = { $script:staged = @(Get-DocsS3Object $M 'my-ami-staging'); $script:amis = @(Get-OpenBsdAmi -Region eu-west-1 -EndpointUrl $M.Ec2 -AccessKey a -SecretKey b) }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output | Should -BeNullOrEmpty
            $Run.Log | Should -Match 'What if: .*openbsd-7\.8-arm64-ec2\.qcow2'
            @(Get-DocsS3Object $M 'my-ami-staging') | Should -Be $staged -Because '-WhatIf uploads nothing'
            @(Get-OpenBsdAmi -Region eu-west-1 -EndpointUrl $M.Ec2 -AccessKey a -SecretKey b).ImageId | Should -Be $amis.ImageId -Because '-WhatIf registers nothing'
        } }

    'docs/Remove-MetalHost.md#1' = @{ Starts = 'New-MetalHost -Region eu-west-1 |'; NotHere = 'Toolchain' }
    'docs/Remove-MetalHost.md#2' = @{ Starts = '$metal = New-MetalHost -Region eu-west-1'; NotHere = 'Toolchain' }
    'docs/Remove-MetalHost.md#3' = @{ Starts = 'Remove-MetalHost -InstanceId i-0123456789abcdef0'; NotHere = 'FixedId' }

    'docs/Remove-OpenBsdImage.md#1' = @{ Starts = 'Get-OpenBsdImage s3://release-images/openbsd/ -Architecture arm64 | Select-Object -Skip 2'; Needs = 'S3'
        Arrange = { Publish-DocsImage $M 'release-images/openbsd/' '7.6', '7.7', '7.8' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            Get-DocsS3Object $M 'release-images' | Where-Object { $_ -like '*.qcow2' } | Sort-Object |
                Should -Be 'openbsd/openbsd-7.7-arm64.qcow2', 'openbsd/openbsd-7.8-arm64.qcow2' -Because 'the two newest stay'
        } }
    'docs/Remove-OpenBsdImage.md#2' = @{ Starts = 'Remove-OpenBsdImage s3://release-images/openbsd/openbsd-7.7-arm64.qcow2 -WhatIf'; Needs = 'S3'
        Arrange = { Publish-DocsImage $M 'release-images/openbsd/' '7.7' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            Get-DocsS3Object $M 'release-images' | Should -Contain 'openbsd/openbsd-7.7-arm64.qcow2'
        } }

    'docs/Start-OpenBsdGuest.md#1' = @{ Starts = '$guest = Connect-MetalHost -Local | Start-OpenBsdGuest'; Needs = 'Local'
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Variables.guest.State | Should -BeLike 'Running*'
            $Run.Variables.guest.MemoryMB | Should -Be 4096
            $Run.Variables.guest.CpuCount | Should -Be 4
        } }
    'docs/Start-OpenBsdGuest.md#2' = @{ Starts = '$metal = New-MetalHost'; NotHere = 'TcgBudget' }
    'docs/Start-OpenBsdGuest.md#3' = @{ Starts = 'Connect-MetalHost -Local | Start-OpenBsdGuest -Image /srv/images/custom.qcow2'; NotHere = 'OwnImage' }
    'docs/Start-OpenBsdGuest.md#4' = @{ Starts = '$image = Get-OpenBsdImage s3://release-images/openbsd/'; NotHere = 'SshBox' }

    'docs/Stop-OpenBsdGuest.md#1' = @{ Starts = '$guest = Connect-MetalHost -Local | Start-OpenBsdGuest'; Needs = 'Local'
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Variables.guest.Name | Should -Not -BeNullOrEmpty -Because 'the guest started'
            (Get-DocsGuest $M).Name | Should -Not -Contain $Run.Variables.guest.Name
            Join-Path $M.Home ".openbsdbuild/guests/$($Run.Variables.guest.Name)" | Should -Not -Exist
        } }
    'docs/Stop-OpenBsdGuest.md#2' = @{ Starts = '$host1 = Connect-MetalHost -HostName build1'; NotHere = 'SshBox' }
    'docs/Stop-OpenBsdGuest.md#3' = @{ Starts = "Get-OpenBsdGuest 'ci-*' | Stop-OpenBsdGuest -WhatIf"; Needs = 'Local'
        Arrange = { Wait-DocsGuest $M }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Log | Should -Match 'What if: .*ci-docs'
            (Get-DocsGuest $M).Name | Should -Contain 'ci-docs' -Because '-WhatIf stops nothing'
        } }

    'docs/Unregister-OpenBsdAmi.md#1' = @{ Starts = 'Get-OpenBsdAmi -Version 7.7 -Region eu-west-1 | Unregister-OpenBsdAmi'; Needs = 'Ec2', 'S3'
        Arrange = { $script:old = Register-DocsAmi $M '7.7'; $script:kept = Register-DocsAmi $M '7.8' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $left = Get-OpenBsdAmi -Region eu-west-1 -EndpointUrl $M.Ec2 -AccessKey a -SecretKey b
            $left.ImageId | Should -Not -Contain $old.ImageId
            $left.ImageId | Should -Contain $kept.ImageId
        } }
    'docs/Unregister-OpenBsdAmi.md#2' = @{ Starts = 'Unregister-OpenBsdAmi ami-0123456789abcdef0 -Region eu-west-1 -WhatIf'; Needs = 'Ec2', 'S3'
        Arrange = { Copy-DocsAmi $M 'ami-0123456789abcdef0' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Log | Should -Match 'What if: .*ami-0123456789abcdef0'
            (Get-OpenBsdAmi -Region eu-west-1 -EndpointUrl $M.Ec2 -AccessKey a -SecretKey b).ImageId | Should -Contain 'ami-0123456789abcdef0' -Because '-WhatIf deregisters nothing'
        } }

    'docs/builds.md#1' = @{ Starts = '$guest | Invoke-GuestBuild'; NotHere = 'Toolchain' }

    'docs/getting-started.md#1' = @{ Starts = 'git clone'; NotHere = 'Clone' }
    'docs/getting-started.md#2' = @{ Starts = '$aws = @{'; Needs = 'Ec2'
        Arrange = { Clear-DocsEc2 $M; Get-DocsEc2State $M 'eu-west-1' | Should -BeNullOrEmpty -Because 'a new account has nothing' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output | Should -BeNullOrEmpty -Because "no host was made yet (the emulator has: $(Get-DocsEc2Resource $M 'eu-west-1' | Out-String))"
        } }
    'docs/getting-started.md#3' = @{ Starts = 'ssh-keygen -t ed25519'; NotHere = 'Install' }
    'docs/getting-started.md#4' = @{ Starts = '$image = Get-OpenBsdImage s3://my-build-images'; NotHere = 'Toolchain' }
    'docs/getting-started.md#5' = @{ Starts = '$metal = New-MetalHost @aws'; NotHere = 'Toolchain' }

    'docs/golden-images.md#1' = @{ Starts = 'Connect-MetalHost -Local |'; NotHere = 'Install' }
    'docs/golden-images.md#2' = @{ Starts = '$image | Publish-OpenBsdImage'; Needs = 'S3'
        Given = '$image = Get-OpenBsdImage ~/images/openbsd-7.8-arm64.qcow2   # what golden-images.md#1 made'
        Arrange = { Publish-DocsImage $M 'release-images/openbsd/' '7.4', '7.5', '7.6', '7.7' }
        Then = {
            $Run.Errors | Should -BeNullOrEmpty
            $Run.Output[0].Location | Should -Be 's3://release-images/openbsd/openbsd-7.8-arm64.qcow2' -Because '-PassThru'
            @($Run.Output | Select-Object -Skip 1).Version | Should -Be '7.8', '7.7', '7.6', '7.5', '7.4' -Because 'listed newest first'
            Get-DocsS3Object $M 'release-images' | Where-Object { $_ -like '*.qcow2' } | Sort-Object |
                Should -Be 'openbsd/openbsd-7.6-arm64.qcow2', 'openbsd/openbsd-7.7-arm64.qcow2', 'openbsd/openbsd-7.8-arm64.qcow2' -Because 'all but the three newest are removed'
        } }
    'docs/golden-images.md#3' = @{ Starts = '$image = Get-OpenBsdImage s3://release-images/openbsd/'; NotHere = 'TcgBudget' }

    'docs/testing-your-automation.md#1' = @{ Starts = '# Publish-Release.ps1'; RunBy = 'Docs.Tests.ps1' }
    'docs/testing-your-automation.md#2' = @{ Starts = '# Publish-Release.Tests.ps1'; RunBy = 'Docs.Tests.ps1' }
    'docs/testing-your-automation.md#3' = @{ Starts = '# Invoke-NightlyBuild.Tests.ps1'; RunBy = 'Docs.Tests.ps1' }
    'docs/testing-your-automation.md#4' = @{ Starts = '# Stop-CostlyHost.ps1'; RunBy = 'Docs.Tests.ps1' }
    'docs/testing-your-automation.md#5' = @{ Starts = '# Stop-CostlyHost.Tests.ps1'; RunBy = 'Docs.Tests.ps1' }
    'docs/testing-your-automation.md#6' = @{ Starts = '# Publish-Release.Failure.Tests.ps1'; RunBy = 'Docs.Tests.ps1' }
    'docs/testing-your-automation.md#7' = @{ Starts = '# WhatIf.Tests.ps1'; RunBy = 'Docs.Tests.ps1' }
}
