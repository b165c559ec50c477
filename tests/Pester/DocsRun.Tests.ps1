#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Every PowerShell block of the README and docs/*.md runs as printed. DocsRun.Plan.ps1 says, for each block, which test
# runs it, or why it cannot run here, or what it needs and what it is documented to do; a block the plan does not know
# fails. Runnable blocks run verbatim (the file is the block's text) in a fresh pwsh on a prepared machine, the way a
# reader's machine is set up:
#   - HOME is a scratch folder with ~/images/openbsd-7.8-arm64.qcow2 (the test guest and its sidecar, as version 7.8;
#     -ec2 also, as an EC2 image), the keys the pages name in ~/.ssh, and AWS profiles (default, ci, release, build) in
#     ~/.aws with the default region eu-west-1;
#   - AWS_ENDPOINT_URL_EC2/_SSM point the AWS SDK at the EC2 emulator (regions us-east-1, eu-west-1, us-west-2), as
#     they would at a VPC endpoint; the S3 cmdlets' -EndpointUrl/-S3EndpointUrl come from $PSDefaultParameterValues,
#     pointing at s3rver with the pages' buckets;
#   - behind every instance the emulator launches is a real host: xunit's netns sshd, whose key the console prints and
#     where the user data really runs (Start-Ec2Emulator -Metal). Three launch parameters come from
#     $PSDefaultParameterValues, as this machine differs from a reader's there: -AllowedCidr (there is no internet to
#     ask checkip.amazonaws.com for a public address), -HostUser root (the stand-in's login; Ubuntu's is xunit's
#     Ec2HostTests') and -StateDirectory (the stand-in shares this machine's disk);
#   - this machine is the local host (QEMU), so Connect-MetalHost -Local boots the test guest.
# A block runs in its own scratch folder; a block's terminating error is kept (Thrown) rather than ending the run.

BeforeDiscovery {
    $root = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    . (Join-Path $PSScriptRoot 'DocsRun.Plan.ps1')
    $script:runnable = @($DocsPlan.GetEnumerator() | Where-Object { $_.Value.Needs } | ForEach-Object { @{ Key = $_.Key; Needs = $_.Value.Needs -join ', ' } })
    # OBB_DOCS_BLOCKS='docs/Get-MetalHost.md*,README.md#1' runs only those (Pester's -FullName filter sees the unexpanded test names).
    if ($env:OBB_DOCS_BLOCKS) {
        $patterns = $env:OBB_DOCS_BLOCKS -split ','
        $script:runnable = @($runnable | Where-Object { $key = $_.Key; $patterns | Where-Object { $key -like $_ } })
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    . (Join-Path $PSScriptRoot 'DocsRun.Plan.ps1')
    Import-Module $ModuleManifest -Force

    function Get-DocsBlock {
        <# Every powershell block of the README and docs/*.md, keyed '<page>#<n>'. #>
        $pages = @(Join-Path $RepoRoot 'README.md') + @(Get-ChildItem (Join-Path $RepoRoot 'docs') -Filter *.md | Sort-Object Name | ForEach-Object FullName)
        foreach ($page in $pages) {
            $n = 0
            foreach ($block in Get-MarkdownCodeBlock $page -Language powershell) {
                $n++
                [pscustomobject]@{ Key = "$([IO.Path]::GetRelativePath($RepoRoot, $page))#$n"; Code = $block.Code }
            }
        }
    }

    function Invoke-AsDocsUser {
        <# Runs $Script in this process with the prepared machine's HOME (for checks and clean-up as the reader). #>
        param($M, [scriptblock] $Script)
        $saved = $env:HOME
        $env:HOME = $M.Home
        try { & $Script } finally { $env:HOME = $saved }
    }

    function Get-DocsGuest($M) {
        <# The guests on the prepared machine: the folders under its ~/.openbsdbuild/guests that a QEMU process runs. #>
        Invoke-AsDocsUser $M { Get-OpenBsdGuest }
    }

    function Start-DocsGuest($M) {
        <# Boots guest 'ci-docs' in another process, as another session would leave one, while other blocks run. #>
        $script = "Import-Module '$ModuleManifest'; Connect-MetalHost -Local | Start-OpenBsdGuest -Image ~/images/openbsd-7.8-arm64.qcow2 -Name ci-docs -BootTimeout 00:20:00 -ErrorAction Stop | Out-Null"
        $log = Join-Path $M.Root 'ci-docs.log'
        $saved, $env:HOME = $env:HOME, $M.Home
        try { Start-Process $PwshPath -ArgumentList '-NoProfile', '-NonInteractive', '-Command', $script -PassThru -RedirectStandardOutput $log -RedirectStandardError "$log.err" }
        finally { $env:HOME = $saved }
    }

    function Wait-DocsGuest($M) {
        $M.CiGuest.WaitForExit()
        $M.CiGuest.ExitCode | Should -Be 0 -Because (Get-Content (Join-Path $M.Root 'ci-docs.log*') -Raw)
    }

    function New-DocsEc2Host($M, [string] $Region) {
        <# An instance with the module's run tag, as New-MetalHost leaves one; its id. #>
        $images = Invoke-Ec2Query $M.Ec2 ([ordered]@{ Action = 'DescribeImages'; Version = '2016-11-15'; 'Owner.1' = '099720109477' }) -Region $Region
        $run = Invoke-Ec2Query $M.Ec2 ([ordered]@{ Action = 'RunInstances'; Version = '2016-11-15'; ImageId = @($images.DescribeImagesResponse.imagesSet.item)[0].imageId
            InstanceType = 'c6g.metal'; MinCount = 1; MaxCount = 1; 'TagSpecification.1.ResourceType' = 'instance'
            'TagSpecification.1.Tag.1.Key' = 'openbsdbuild:run-id'; 'TagSpecification.1.Tag.1.Value' = "docs-$([Guid]::NewGuid().ToString('n').Substring(0, 6))" }) -Region $Region
        $run.RunInstancesResponse.instancesSet.item.instanceId
    }

    function New-DocsEc2Leftover($M, [string] $Region) {
        <# A security group and a key pair of a run whose instance is gone, as a crashed pipeline leaves them. #>
        $run = "docs-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
        $tags = [ordered]@{ 'TagSpecification.1.Tag.1.Key' = 'openbsdbuild:run-id'; 'TagSpecification.1.Tag.1.Value' = $run }
        $group = Invoke-Ec2Query $M.Ec2 ([ordered]@{ Action = 'CreateSecurityGroup'; Version = '2016-11-15'; GroupName = "openbsdbuild-$run"; GroupDescription = 'left'
            'TagSpecification.1.ResourceType' = 'security-group' } + $tags) -Region $Region
        $key = [Convert]::ToBase64String([IO.File]::ReadAllBytes("$($M.Guest.KeyFile).pub"))
        $null = Invoke-Ec2Query $M.Ec2 ([ordered]@{ Action = 'ImportKeyPair'; Version = '2016-11-15'; KeyName = "openbsdbuild-$run"; PublicKeyMaterial = $key
            'TagSpecification.1.ResourceType' = 'key-pair' } + $tags) -Region $Region
        [pscustomobject]@{ GroupId = $group.CreateSecurityGroupResponse.groupId; KeyName = "openbsdbuild-$run" }
    }

    function Get-DocsEc2State($M, [string] $Region) {
        <# What the module made in a region: its instances (any state but terminated), groups and key pairs, by run tag. #>
        Get-DocsEc2Resource $M $Region | ForEach-Object Id
    }

    function Get-DocsEc2Resource($M, [string] $Region) { Get-Ec2Resource $M.Ec2 $Region }

    function Clear-DocsEc2($M) {
        <# Ends what an EC2 block or its arrangement left, so the next block starts from an empty account. #>
        foreach ($region in 'us-east-1', 'eu-west-1', 'us-west-2') {
            foreach ($r in @(Get-DocsEc2Resource $M $region | Sort-Object { $_.Kind -ne 'Instance' })) {
                $call = switch ($r.Kind) {
                    'Instance' { [ordered]@{ Action = 'TerminateInstances'; 'InstanceId.1' = $r.Id } }
                    'SecurityGroup' { [ordered]@{ Action = 'DeleteSecurityGroup'; GroupId = $r.Id } }
                    'KeyPair' { [ordered]@{ Action = 'DeleteKeyPair'; KeyName = $r.Id } }
                }
                try { $null = Invoke-Ec2Query $M.Ec2 ($call + [ordered]@{ Version = '2016-11-15' }) -Region $region }
                catch { Write-Warning "Could not clear $($r.Kind) $($r.Id) in ${region}: $($_.ErrorDetails.Message)" }
            }
            # Terminated instances are seen as such by the next look; look until none is left.
            foreach ($look in 1..20) {
                if (-not @(Get-DocsEc2Resource $M $region | Where-Object Kind -eq 'Instance')) { break }
                Start-Sleep -Milliseconds 500
            }
        }
    }

    function Register-DocsAmi($M, [string] $Version) {
        <# An AMI registered by the module from a small EC2 image of that version (through s3rver and the emulator's import); the AMI. #>
        $image = Join-Path $M.Root "ami-$Version/openbsd-$Version-arm64-ec2.qcow2"
        if (Test-Path $image) {
            $made = Get-OpenBsdAmi -Version $Version -Region eu-west-1 -EndpointUrl $M.Ec2 -AccessKey a -SecretKey b
            if ($made) { return $made | Select-Object -First 1 }
        }
        else { New-DocsEc2Image $M $image $Version }
        Register-OpenBsdAmi $image "s3://my-ami-staging/seeded/" -Region eu-west-1 -EndpointUrl $M.Ec2 -S3EndpointUrl $M.S3.Endpoint `
            -AccessKey $M.S3.AccessKey -SecretKey $M.S3.SecretKey -Confirm:$false -ErrorAction Stop
    }

    function Copy-DocsAmi($M, [string] $ImageId) {
        <# The account also holds an AMI of the module's (7.8, eu-west-1) under the id a page names. #>
        $amis = @(Get-OpenBsdAmi -Region eu-west-1 -EndpointUrl $M.Ec2 -AccessKey a -SecretKey b)
        if ($amis.ImageId -contains $ImageId) { return }
        $source = Register-DocsAmi $M '7.8'
        Invoke-Ec2EmulatorControl $M.Emulator "copy-image eu-west-1 $($source.ImageId) $ImageId"
    }

    function New-DocsEc2Image($M, [string] $Path, [string] $Version) {
        <# A small qcow2 with the sidecar New-OpenBsdImage -Target Ec2 writes. #>
        New-Item -ItemType Directory -Force (Split-Path $Path) | Out-Null
        qemu-img create -q -f qcow2 $Path 4M
        [ordered]@{ name = [IO.Path]::GetFileNameWithoutExtension($Path); os = 'OpenBSD'; version = $Version; architecture = 'arm64'; buildUser = 'build'
            hostKeyFingerprints = @($M.Guest.HostKeyFingerprint); size = (Get-Item $Path).Length; target = 'ec2'
            sha256 = (Get-FileHash $Path -Algorithm SHA256).Hash.ToLowerInvariant(); created = '2026-11-01T00:00:00Z' } | ConvertTo-Json | Set-Content "$Path.json"
    }

    function Publish-DocsImage($M, [string] $Prefix, [string[]] $Version) {
        <# Small images with sidecars (one per version, older versions made earlier) published under s3://$Prefix. #>
        $s3 = @{ EndpointUrl = $M.S3.Endpoint; Region = 'us-east-1'; AccessKey = $M.S3.AccessKey; SecretKey = $M.S3.SecretKey }
        Get-OpenBsdImage "s3://$Prefix" @s3 | Remove-OpenBsdImage @s3 -Confirm:$false
        $folder = Join-Path $M.Root "publish-$([Guid]::NewGuid().ToString('n').Substring(0, 6))"
        New-Item -ItemType Directory $folder | Out-Null
        $i = 0
        foreach ($v in $Version) {
            $image = Join-Path $folder "openbsd-$v-arm64.qcow2"
            [IO.File]::WriteAllBytes($image, [Text.Encoding]::UTF8.GetBytes("image $v"))
            [ordered]@{ name = "openbsd-$v-arm64"; os = 'OpenBSD'; version = $v; architecture = 'arm64'; buildUser = 'build'
                hostKeyFingerprints = @($M.Guest.HostKeyFingerprint); size = (Get-Item $image).Length
                sha256 = (Get-FileHash $image -Algorithm SHA256).Hash.ToLowerInvariant()
                created = [DateTime]::new(2026, 1, 1).AddDays($i++).ToString('o') } | ConvertTo-Json | Set-Content "$image.json"
        }
        Get-OpenBsdImage $folder | Publish-OpenBsdImage -Destination "s3://$Prefix" @s3 -Confirm:$false | Out-Null
    }

    function Publish-DocsGuestImage($M, [string] $Destination) {
        <# The test guest, as ~/images/openbsd-7.8-arm64.qcow2 (version 7.8), published under $Destination (s3://bucket/prefix/). #>
        Get-OpenBsdImage (Join-Path $M.Home 'images/openbsd-7.8-arm64.qcow2') | Publish-OpenBsdImage -Destination $Destination `
            -EndpointUrl $M.S3.Endpoint -Region us-east-1 -AccessKey $M.S3.AccessKey -SecretKey $M.S3.SecretKey -Confirm:$false | Out-Null
    }

    function Get-DocsS3Object($M, [string] $Bucket) {
        <# The keys in one of s3rver's buckets (it stores each object as a folder of files under its data directory). #>
        $dir = Join-Path $M.S3.DataDirectory $Bucket
        if (-not (Test-Path $dir)) { return }
        Get-ChildItem $dir -Recurse -Filter '*._S3rver_object' | ForEach-Object {
            [IO.Path]::GetRelativePath($dir, $_.FullName) -replace '\._S3rver_object$' -replace '\\', '/'
        }
    }

    function New-DocsMachine {
        $M = [ordered]@{ Root = Join-Path ([IO.Path]::GetTempPath()) "obb-docsrun-$([Guid]::NewGuid().ToString('n').Substring(0, 8))" }
        $M.Home = Join-Path $M.Root 'home'
        $M.Guest = Get-TestGuestImage
        New-Item -ItemType Directory "$($M.Home)/images", "$($M.Home)/.ssh", "$($M.Home)/.aws" | Out-Null
        $sidecar = Get-Content "$($M.Guest.Path).json" -Raw | ConvertFrom-Json -AsHashtable
        New-Item -ItemType SymbolicLink "$($M.Home)/images/openbsd-7.8-arm64.qcow2" -Target $M.Guest.Path | Out-Null
        $sidecar.name = 'openbsd-7.8-arm64'; $sidecar.version = '7.8'
        $sidecar | ConvertTo-Json | Set-Content "$($M.Home)/images/openbsd-7.8-arm64.qcow2.json"
        $M.ImageSha256 = $sidecar.sha256
        # The EC2 image the AMI pages name: small, as only its upload and import run here.
        New-DocsEc2Image ([pscustomobject]$M) "$($M.Home)/images/openbsd-7.8-arm64-ec2.qcow2" '7.8'
        $M.Ec2ImageSha256 = (Get-Content "$($M.Home)/images/openbsd-7.8-arm64-ec2.qcow2.json" -Raw | ConvertFrom-Json).sha256
        foreach ($key in 'id_ed25519', 'openbsd_build', 'openbsd-build', 'build_ed25519') {
            Copy-Item $M.Guest.KeyFile "$($M.Home)/.ssh/$key"
            Copy-Item "$($M.Guest.KeyFile).pub" "$($M.Home)/.ssh/$key.pub"
            if (-not $IsWindows) { chmod 600 "$($M.Home)/.ssh/$key" }
        }
        $profiles = 'default', 'ci', 'release', 'build'
        # s3rver takes only its own keys; the emulator takes any.
        ($profiles | ForEach-Object { "[$_]`naws_access_key_id = S3RVER`naws_secret_access_key = S3RVER`n" }) -join "`n" | Set-Content "$($M.Home)/.aws/credentials"
        ($profiles | ForEach-Object { "[$(($_ -eq 'default') ? 'default' : "profile $_")]`nregion = eu-west-1`n" }) -join "`n" | Set-Content "$($M.Home)/.aws/config"
        # The emulator first: s3rver listens on its metal host's veth address, where the host fetches golden images.
        $M.Emulator = Start-Ec2Emulator -Arguments '--region', 'us-west-2' -Metal
        $M.Ec2 = $M.Emulator.Endpoint
        $M.Metal = $M.Emulator.Metal
        $M.S3 = Start-S3rver -Bucket 'release-images', 'my-build-images', 'my-ami-staging', 'images', 'releases' -Address $M.Metal.OuterAddress
        Invoke-Ec2EmulatorControl $M.Emulator "object-store $($M.S3.Endpoint)"
        $M = [pscustomobject]$M
        $M | Add-Member CiGuest (Start-DocsGuest $M)
        $M
    }

    function Invoke-DocsBlock {
        <# Runs one block verbatim in a fresh pwsh on the prepared machine; what it wrote, its errors and its variables. #>
        param($M, [string] $Key, [string] $Code, [string] $Given)
        $work = Join-Path $M.Root ('run-' + ($Key -replace '[^\w]', '-'))
        New-Item -ItemType Directory "$work/engine" | Out-Null
        Set-Content "$work/engine/build.sh" "mkdir -p out`nuname -m > out/engine`n" -NoNewline
        $block = Join-Path $work 'block.ps1'
        Set-Content $block $Code
        $result = Join-Path $work 'result.xml'
        $tokens = $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $tokens, [ref] $errors)
        $assigned = @($ast.FindAll({ $args[0] -is [System.Management.Automation.Language.AssignmentStatementAst] }, $true) |
            ForEach-Object { $_.Left } | Where-Object { $_ -is [System.Management.Automation.Language.VariableExpressionAst] } |
            ForEach-Object { $_.VariablePath.UserPath } | Select-Object -Unique)
        $s3 = $M.S3.Endpoint
        $metalState = "$($M.Metal.StateDirectory)/guests"
        $runner = @"
Set-Location '$work'
Import-Module OpenBsdBuild
`$PSDefaultParameterValues = @{
    'Get-OpenBsdImage:EndpointUrl' = '$s3'; 'Publish-OpenBsdImage:EndpointUrl' = '$s3'; 'Remove-OpenBsdImage:EndpointUrl' = '$s3'
    'Start-OpenBsdGuest:EndpointUrl' = '$s3'; '*:S3EndpointUrl' = '$s3'
    'New-MetalHost:AllowedCidr' = '198.51.100.7/32'; 'Invoke-OpenBsdBuild:AllowedCidr' = '198.51.100.7/32'
    'New-MetalHost:HostUser' = 'root'; 'Invoke-OpenBsdBuild:HostUser' = 'root'
    'New-MetalHost:StateDirectory' = '$metalState'; 'Invoke-OpenBsdBuild:StateDirectory' = '$metalState'
}
$Given
`$Error.Clear()
`$__thrown = `$null
`$__out = try { @(. '$block') } catch { `$__thrown = `$_; @() }
`$__vars = @{}
foreach (`$__n in '$($assigned -join "','")') { if (`$__n) { `$__vars[`$__n] = Get-Variable `$__n -ValueOnly -ErrorAction Ignore } }
[pscustomobject]@{
    Output = @(`$__out | Where-Object { `$_ -and `$_.GetType().Namespace -ne 'Microsoft.PowerShell.Commands.Internal.Format' })
    Text = `$__out | Out-String -Width 300
    Errors = @(`$Error | Where-Object { `$_ -ne `$__thrown } | ForEach-Object { "`$(`$_.FullyQualifiedErrorId): `$_" })
    Thrown = if (`$__thrown) { "`$(`$__thrown.FullyQualifiedErrorId): `$__thrown" }
    Variables = `$__vars
} | Export-Clixml '$result' -Depth 4
"@
        $saved = @{}
        $environment = @{
            HOME = $M.Home; AWS_ENDPOINT_URL_EC2 = $M.Ec2; AWS_ENDPOINT_URL_SSM = $M.Ec2
            PSModulePath = (Split-Path (Split-Path $ModuleManifest)) + [IO.Path]::PathSeparator + $env:PSModulePath
            AWS_ACCESS_KEY_ID = $null; AWS_SECRET_ACCESS_KEY = $null; AWS_SESSION_TOKEN = $null; AWS_PROFILE = $null; AWS_REGION = $null; AWS_DEFAULT_REGION = $null
        }
        foreach ($name in $environment.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); [Environment]::SetEnvironmentVariable($name, $environment[$name]) }
        try { $log = & $PwshPath -NoProfile -NonInteractive -Command $runner 2>&1 | Out-String }
        finally { foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) } }
        if (-not (Test-Path $result)) { throw "The block did not finish (exit $LASTEXITCODE):`n$log" }
        $run = Import-Clixml $result
        $run | Add-Member Log $log -PassThru
    }

    $script:M = New-DocsMachine
    $script:blocks = @(Get-DocsBlock)
}

AfterAll {
    if ($M) {
        Invoke-AsDocsUser $M { Get-OpenBsdGuest | Stop-OpenBsdGuest -Force -Confirm:$false -ErrorAction SilentlyContinue }
        Stop-Ec2Emulator $M.Emulator
        Stop-S3rver $M.S3
        Remove-Item -Recurse -Force $M.Root -ErrorAction SilentlyContinue
    }
}

Describe 'Docs blocks: the plan' {
    It 'knows every block: run here, run by another test, or named with a reason it cannot run here' {
        $problems = foreach ($block in $blocks) {
            $entry = $DocsPlan[$block.Key]
            if (-not $entry) { "$($block.Key) is not in DocsRun.Plan.ps1 (first line: $(($block.Code -split "`n")[0]))"; continue }
            if (-not $block.Code.StartsWith($entry.Starts)) { "$($block.Key) starts '$(($block.Code -split "`n")[0])', the plan expects '$($entry.Starts)'" }
            $kinds = @('RunBy', 'NotHere', 'Needs' | Where-Object { $entry[$_] })
            if ($kinds.Count -ne 1) { "$($block.Key): give exactly one of RunBy, NotHere, Needs" }
            if ($entry.NotHere -and -not $NotHere[$entry.NotHere]) { "$($block.Key): no reason named '$($entry.NotHere)'" }
            if ($entry.RunBy -and -not (Select-String -Quiet -SimpleMatch ($block.Key -split '#')[0] (Join-Path $PSScriptRoot $entry.RunBy))) {
                "$($block.Key): $($entry.RunBy) does not read $(($block.Key -split '#')[0])"
            }
            if ($entry.Needs -and -not $entry.Then) { "$($block.Key): a runnable block needs a Then that checks what it does" }
        }
        $stale = $DocsPlan.Keys | Where-Object { $_ -notin $blocks.Key } | ForEach-Object { "the plan names $_, which is no block" }
        @($problems) + @($stale) | Should -BeNullOrEmpty
    }

    It 'keeps the list of blocks that cannot run here from growing' {
        # A ratchet: lower it when a block starts running here; a new block that cannot run here needs a reason to raise it.
        @($DocsPlan.Values | Where-Object NotHere).Count | Should -BeLessOrEqual 35
    }
}

Describe 'Docs blocks run as printed' -Skip:$IsWindows {
    It '<Key> (<Needs>)' -ForEach $runnable {
        $entry = $DocsPlan[$Key]
        $block = $blocks | Where-Object Key -eq $Key
        if ($entry.Arrange) { & $entry.Arrange }
        $Run = Invoke-DocsBlock $M $Key $block.Code $entry.Given
        try { & $entry.Then }
        catch { throw "$($_.Exception.Message)`n--- the block's run:`nThrown: $($Run.Thrown)`nErrors: $($Run.Errors -join "`n")`n$($Run.Text)`n$($Run.Log)" }
        finally {
            # Guests a block leaves running (as documented) go before the next block; 'ci-docs' stays for those that list it.
            Invoke-AsDocsUser $M { Get-OpenBsdGuest | Where-Object Name -ne 'ci-docs' | Stop-OpenBsdGuest -Force -Confirm:$false }
            Clear-DocsEc2 $M
        }
    }
}
