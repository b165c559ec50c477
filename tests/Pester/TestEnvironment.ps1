# Shared by the Pester suite (dot-sourced in BeforeAll): where things are, the test guest, and the code blocks
# of the docs (tests run the blocks themselves, so docs and tests cannot drift apart).

$script:RepoRoot = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
$script:ModuleManifest = Join-Path $RepoRoot 'out/OpenBsdBuild/OpenBsdBuild.psd1'
if (-not (Test-Path $ModuleManifest)) { throw "Build first: dotnet build OpenBsdBuild.sln (expected $ModuleManifest)" }
# This pwsh (also when installed as a dotnet tool, whose process is dotnet), for scripts that need a fresh process.
$script:PwshPath = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh')

function Get-MarkdownCodeBlock {
    <# The fenced code blocks of a markdown file, in order, as objects with Language and Code. #>
    param([Parameter(Mandatory)] [string] $Path, [string] $Language)
    $blocks = [System.Collections.Generic.List[object]]::new()
    $current = $null
    foreach ($line in [IO.File]::ReadAllLines($Path)) {
        if ($null -eq $current) {
            if ($line -match '^```(\w*)\s*$') { $current = @{ Language = $Matches[1]; Lines = [System.Collections.Generic.List[string]]::new() } }
        } elseif ($line -match '^```\s*$') {
            $blocks.Add([pscustomobject]@{ Language = $current.Language; Code = $current.Lines -join "`n" })
            $current = $null
        } else { $current.Lines.Add($line) }
    }
    if ($null -ne $current) { throw "$Path has an unclosed code block" }
    $blocks | Where-Object { -not $Language -or $_.Language -eq $Language }
}

function Get-TestGuestImage {
    <#
    The arm64 test guest of tests/fixtures/guest-image, built once and cached the way the xunit fixture
    (tests/OpenBsdBuild.Tests/Fixtures/TestGuestImage.cs) caches it: one folder per hash of the recipe,
    with a metadata sidecar like a golden image's. Either suite may build it; the other reuses it.
    #>
    $recipe = Join-Path $RepoRoot 'tests/fixtures/guest-image'
    $sha = [System.Security.Cryptography.IncrementalHash]::CreateHash('SHA256')
    [string[]] $ordered = Get-ChildItem $recipe -Recurse -File -Force | Where-Object Extension -ne '.md' |
        ForEach-Object { [IO.Path]::GetRelativePath($recipe, $_.FullName) }
    [Array]::Sort($ordered, [StringComparer]::Ordinal)
    foreach ($relative in $ordered) {
        $sha.AppendData([Text.Encoding]::UTF8.GetBytes($relative))
        $sha.AppendData([IO.File]::ReadAllBytes((Join-Path $recipe $relative)))
    }
    $hash = [Convert]::ToHexString($sha.GetHashAndReset()).ToLowerInvariant().Substring(0, 16)
    $cacheRoot = if ($env:OPENBSDBUILD_TEST_CACHE) { $env:OPENBSDBUILD_TEST_CACHE } else { Join-Path $HOME '.cache/openbsdbuild-tests' }
    $dir = Join-Path $cacheRoot "guest-$hash"
    # .ci/test runs this suite beside the xunit suite, which caches the same image: whoever comes first builds it
    # while the other waits on the lock (.NET takes flock for FileShare None), so neither replaces a folder in use.
    New-Item -ItemType Directory -Force $cacheRoot | Out-Null
    $waited = [Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        try { $lock = [IO.File]::Open("$dir.lock", 'OpenOrCreate', 'ReadWrite', 'None'); break }
        catch {
            # A method call wraps the IOException that says another process holds the lock.
            if ($_.Exception.InnerException -isnot [IO.IOException] -or $waited.Elapsed.TotalMinutes -gt 25) { throw }
            Start-Sleep -Seconds 2
        }
    }
    try {
        if (-not (Test-Path (Join-Path $dir '.complete'))) {
            $work = "$dir.tmp-$PID"
            New-Item -ItemType Directory -Force $work | Out-Null
            bash (Join-Path $recipe 'build-guest-image.sh') $work *> (Join-Path $work 'build.log')
            if ($LASTEXITCODE) { throw "Building the test guest failed: $(Get-Content -Tail 40 (Join-Path $work 'build.log') -Raw)" }
            Set-Content (Join-Path $work '.complete') ([DateTime]::UtcNow.ToString('o'))
            if (Test-Path $dir) { Remove-Item -Recurse -Force $dir }
            Move-Item $work $dir
        }
        $image = Join-Path $dir 'guest.qcow2'
        $fingerprint = (Get-Content (Join-Path $dir 'host_key.fingerprint') -Raw).Trim()
        if (-not (Test-Path "$image.json")) {
            # Whole or not at all (a rename): a guest the other suite starts may be reading it.
            [ordered]@{
                name = 'openbsdbuild-test-guest'; os = 'TestGuest'; version = $hash.Substring(0, 8); architecture = 'arm64'
                buildUser = 'build'; hostKeyFingerprints = @($fingerprint)
                created = (Get-Item $image).LastWriteTimeUtc.ToString('o'); size = (Get-Item $image).Length
                sha256 = (Get-FileHash $image -Algorithm SHA256).Hash.ToLowerInvariant()
            } | ConvertTo-Json | Set-Content "$image.json.tmp-$PID"
            Move-Item -Force "$image.json.tmp-$PID" "$image.json"
        }
    }
    finally { $lock.Dispose() }
    [pscustomobject]@{
        Directory = $dir; Path = $image; KeyFile = Join-Path $dir 'id_ed25519'; HostKeyFingerprint = $fingerprint
    }
}

function Start-S3rver {
    <#
    A real S3-compatible server (s3rver from tests/node_modules) with its buckets (the first is .Bucket), as a process; on
    loopback, or on -Address (a metal lab's OuterAddress, where its host fetches golden images as an EC2 host reaches S3).
    #>
    param([string[]] $Bucket = 'images', [string] $Address = '127.0.0.1')
    $script = Join-Path $RepoRoot 'tests/node_modules/s3rver/bin/s3rver.js'
    if (-not (Test-Path $script)) { throw "s3rver is not installed ($script): npm ci --prefix tests" }
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Parse($Address), 0)
    $listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
    $data = Join-Path ([IO.Path]::GetTempPath()) "s3rver-$([Guid]::NewGuid().ToString('n'))"
    New-Item -ItemType Directory $data | Out-Null
    $process = Start-Process node -ArgumentList (@($script, '-d', $data, '-a', $Address, '-p', $port) + @($Bucket | ForEach-Object { '--configure-bucket', $_ })) `
        -PassThru -RedirectStandardOutput "$data.log" -RedirectStandardError "$data.err"
    $endpoint = "http://${Address}:$port"
    foreach ($attempt in 1..300) {
        try { $null = Invoke-WebRequest "$endpoint/" -SkipHttpErrorCheck -TimeoutSec 2; break }
        catch { if ($process.HasExited) { throw "s3rver exited: $(Get-Content "$data.err" -Raw)" }; Start-Sleep -Milliseconds 100 }
    }
    [pscustomobject]@{ Process = $process; Endpoint = $endpoint; Bucket = $Bucket[0]; DataDirectory = $data
                       AccessKey = 'S3RVER'; SecretKey = 'S3RVER'; Region = 'us-east-1' }
}

function Stop-S3rver([Parameter(Mandatory)] $Server) {
    $Server.Process | Stop-Process -Force -ErrorAction SilentlyContinue
    $Server.Process.WaitForExit()
    Remove-Item -Recurse -Force $Server.DataDirectory, "$($Server.DataDirectory).log", "$($Server.DataDirectory).err" -ErrorAction SilentlyContinue
}

function Start-Ec2Emulator {
    <#
    The wire-level EC2 emulator (tests/OpenBsdBuild.Ec2Emulator) as a process, through its host program: the endpoint
    for -EndpointUrl, and the process, which stops when its stdin closes (Stop-Ec2Emulator). -Arguments: the host
    program's options (--region, --object-store, ...). -Metal puts xunit's netns sshd host behind every instance
    (Program.cs of the host program says how): .Metal then has its Address, OuterAddress, HostKeyFingerprint, KeyFile
    and StateDirectory (where the user data keeps its status; guests go under its 'guests'). Faults, request counts and
    the object store are set with Invoke-Ec2EmulatorControl.
    #>
    param([string[]] $Arguments, [switch] $Metal)
    if ($Metal) { $Arguments = @($Arguments | Where-Object { $_ }) + '--metal' }
    $dll = Join-Path $RepoRoot 'tests/OpenBsdBuild.Ec2Emulator.Host/bin/Debug/net10.0/OpenBsdBuild.Ec2Emulator.Host.dll'
    if (-not (Test-Path $dll)) { throw "Build first: dotnet build OpenBsdBuild.sln (expected $dll)" }
    $start = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    $start.ArgumentList.Add($dll)
    foreach ($argument in $Arguments) { $start.ArgumentList.Add($argument) }
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($start)
    $endpoint = $process.StandardOutput.ReadLine()
    if (-not $endpoint) { throw "The EC2 emulator did not start (exit $($process.ExitCode))" }
    $lab = if ($Metal) {
        $line = $process.StandardOutput.ReadLine()
        if (-not $line) { throw "The EC2 emulator's metal host did not start (exit $($process.ExitCode))" }
        $line | ConvertFrom-Json
    }
    [pscustomobject]@{ Process = $process; Endpoint = $endpoint.Trim(); Metal = $lab }
}

function Invoke-Ec2EmulatorControl {
    <#
    One line of the emulator's control script (Program.cs of its host program): 'fail RunInstances InternalError 10 500',
    'capacity a1.metal * none', 'page 502 20', 'clear'. Returns once the emulator has applied it, with its answer if any.
    #>
    param([Parameter(Mandatory)] $Emulator, [Parameter(Mandatory)] [string] $Command)
    $Emulator.Process.StandardInput.WriteLine($Command)
    $Emulator.Process.StandardInput.Flush()
    $answer = $Emulator.Process.StandardOutput.ReadLine()
    if ($answer -notmatch '^ok( |$)') { throw "The EC2 emulator refused '$Command': $answer" }
    $answer.Substring(2).Trim() | Where-Object { $_ }
}

function Get-Ec2RequestCount([Parameter(Mandatory)] $Emulator, [Parameter(Mandatory)] [string] $Action) {
    <# How many requests for the action (e.g. 'CreateSecurityGroup') the emulator has answered, errors included. #>
    [int] (Invoke-Ec2EmulatorControl $Emulator "count $Action")
}

function Stop-Ec2Emulator([Parameter(Mandatory)] $Emulator) {
    $Emulator.Process.StandardInput.Close()
    if (-not $Emulator.Process.WaitForExit(60000)) { $Emulator.Process.Kill() }
}

function Invoke-Ec2Query {
    <# One EC2 Query API call straight to an emulator (it reads the region from the credential scope, not the signature). #>
    param([Parameter(Mandatory)] [string] $Endpoint, [Parameter(Mandatory)] [System.Collections.Specialized.OrderedDictionary] $Parameters,
          [string] $Region = 'us-east-1')
    $body = (@($Parameters.GetEnumerator()) | ForEach-Object { "$($_.Key)=$([uri]::EscapeDataString([string]$_.Value))" }) -join '&'
    $headers = @{ Authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/$Region/ec2/aws4_request, SignedHeaders=host, Signature=0" }
    [xml] (Invoke-WebRequest -Method Post -Uri $Endpoint -Body $body -ContentType 'application/x-www-form-urlencoded; charset=utf-8' -Headers $headers).Content
}

function Get-Ec2Resource {
    <#
    What was made in an emulator's region, asked straight through its API: instances not terminated, security groups but
    the default ones, and key pairs (Kind, Id). In a fresh account, everything here was made by a test.
    #>
    param([Parameter(Mandatory)] [string] $Endpoint, [string] $Region = 'us-east-1')
    function Select-Ec2([xml] $Answer, [string] $Path) {
        # XPath by local name: the answers have a namespace, and .item on several reservations is the array's indexer.
        $Answer.SelectNodes('/*/' + (($Path -split '/' | ForEach-Object { "*[local-name()='$_']" }) -join '/')) |
            ForEach-Object { $node = $_; $o = @{}; foreach ($c in $node.ChildNodes) { $o[$c.LocalName] = $c }; $o }
    }
    $v = [ordered]@{ Version = '2016-11-15' }
    Select-Ec2 (Invoke-Ec2Query $Endpoint ([ordered]@{ Action = 'DescribeInstances' } + $v) -Region $Region) 'reservationSet/item/instancesSet/item' |
        Where-Object { $_.instanceState.SelectSingleNode("*[local-name()='name']").InnerText -ne 'terminated' } |
        ForEach-Object { [pscustomobject]@{ Kind = 'Instance'; Id = $_.instanceId.InnerText } }
    Select-Ec2 (Invoke-Ec2Query $Endpoint ([ordered]@{ Action = 'DescribeSecurityGroups' } + $v) -Region $Region) 'securityGroupInfo/item' |
        Where-Object { $_.groupName.InnerText -ne 'default' } | ForEach-Object { [pscustomobject]@{ Kind = 'SecurityGroup'; Id = $_.groupId.InnerText } }
    Select-Ec2 (Invoke-Ec2Query $Endpoint ([ordered]@{ Action = 'DescribeKeyPairs' } + $v) -Region $Region) 'keySet/item' |
        ForEach-Object { [pscustomobject]@{ Kind = 'KeyPair'; Id = $_.keyName.InnerText } }
}
