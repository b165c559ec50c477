#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The documented pipelines that run on this machine leave nothing behind when a stage fails, however the error is
# handled: each case runs in a fresh pwsh (HOME a scratch folder, so its guests are its own), injects one failure into
# one stage, and then no QEMU process runs from that HOME and no guest folder is left. The shapes:
#   README / Disconnect-MetalHost.md:  Connect-MetalHost -Local | Start-OpenBsdGuest … | Invoke-GuestBuild … | Disconnect-MetalHost -PassThru
#   Invoke-OpenBsdBuild.md (a host you attach):  Connect-MetalHost -Local | Invoke-OpenBsdBuild -Image …
# The EC2 shapes (New-MetalHost | …, and $h = New-MetalHost with try/finally) are rows of docs/reliability.md, proven
# in a real runspace by tests/OpenBsdBuild.Tests/Reliability/PipelineFailureTests.cs against the emulator with a
# netns sshd as the instance; from pwsh, Ec2.Tests.ps1 covers the launch that never answers.

BeforeDiscovery {
    # Failure × how it is handled. Each script sees $image, $key, $src; it prints a line that Expect matches.
    $script:cases = @(
        @{ Name = 'the guest does not start (missing image), default $ErrorActionPreference'
           Script = '$r = Connect-MetalHost -Local | Start-OpenBsdGuest -Image "$src/missing.qcow2" -KeyFile $key | Invoke-GuestBuild -Path $src -Command "sh build.sh" -MinFreeSpace 1MB | Disconnect-MetalHost -PassThru
"results: $(@($r).Count); error: $($Error[0].FullyQualifiedErrorId)"'
           Expect = 'results: 0; error: OpenBsdBuild.ImageNotFound,*' }
        @{ Name = 'the build exits 2, default $ErrorActionPreference'
           Script = '$r = Connect-MetalHost -Local | Start-OpenBsdGuest -Image $image -KeyFile $key | Invoke-GuestBuild -Path $src -Command "exit 2" -MinFreeSpace 1MB | Disconnect-MetalHost -PassThru
"results: $(@($r).Count) succeeded: $($r.Succeeded) exit: $($r.ExitCode); error: $($Error[0].FullyQualifiedErrorId)"'
           Expect = 'results: 1 succeeded: False exit: 2; error: OpenBsdBuild.BuildFailed,*' }
        @{ Name = 'the build exits 2, -ErrorAction Stop in try/catch'
           Script = 'try { Connect-MetalHost -Local | Start-OpenBsdGuest -Image $image -KeyFile $key | Invoke-GuestBuild -Path $src -Command "exit 2" -MinFreeSpace 1MB -ErrorAction Stop | Disconnect-MetalHost -PassThru; "not caught" }
catch { "caught: $($_.FullyQualifiedErrorId)" }'
           Expect = 'caught: OpenBsdBuild.BuildFailed,*' }
        @{ Name = 'the preflight refuses (-MinFreeSpace), $ErrorActionPreference = ''Stop'' and the script ends with the exception'
           Script = '$ErrorActionPreference = "Stop"
Connect-MetalHost -Local | Start-OpenBsdGuest -Image $image -KeyFile $key | Invoke-GuestBuild -Path $src -Command "sh build.sh" -MinFreeSpace 1TB | Disconnect-MetalHost -PassThru
"not stopped"'
           Expect = '*less than the*-MinFreeSpace. Nothing was sent.*'; ExitCode = 1 }
        @{ Name = 'a script block stage throws between the build and Disconnect-MetalHost'
           Script = 'try { Connect-MetalHost -Local | Start-OpenBsdGuest -Image $image -KeyFile $key | Invoke-GuestBuild -Path $src -Command "sh build.sh" -MinFreeSpace 1MB | ForEach-Object { throw "my stage failed" } | Disconnect-MetalHost -PassThru }
catch { "caught: $_" }'
           Expect = 'caught: my stage failed' }
        @{ Name = 'Ctrl+C (the pipeline stopped) while the build runs'
           Script = '$ps = [powershell]::Create().AddScript({
    param($image, $key, $src)
    Import-Module OpenBsdBuild
    Connect-MetalHost -Local | Start-OpenBsdGuest -Image $image -KeyFile $key | Invoke-GuestBuild -Path $src -Command "echo build-started; sleep 600" -MinFreeSpace 1MB | Disconnect-MetalHost -PassThru
}).AddArgument($image).AddArgument($key).AddArgument($src)
$async = $ps.BeginInvoke()
while (-not $async.IsCompleted -and -not ($ps.Streams.Information | Where-Object { "$_" -match "build-started" })) { Start-Sleep -Milliseconds 200 }
$ps.Stop()
"stopped: $($ps.InvocationStateInfo.State)"'
           Expect = 'stopped: Stopped' }
        @{ Name = 'Invoke-OpenBsdBuild on an attached host: the build exits 2, -ErrorAction Stop'
           Script = 'try { Connect-MetalHost -Local | Invoke-OpenBsdBuild -Image $image -KeyFile $key -Path $src -Command "exit 2" -MinFreeSpace 1MB -ErrorAction Stop; "not caught" }
catch { "caught: $($_.FullyQualifiedErrorId)" }'
           Expect = 'caught: OpenBsdBuild.BuildFailed,*' }
    )
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    $script:guest = Get-TestGuestImage

    function Get-LeftBehind([string] $HomeFolder) {
        <# QEMU processes started from that HOME and guest folders under it. #>
        Get-Process qemu-system-* -ErrorAction SilentlyContinue |
            Where-Object { (Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -like "*$HomeFolder*" } |
            ForEach-Object { "QEMU process $($_.Id)" }
        Get-ChildItem "$HomeFolder/.openbsdbuild/guests" -ErrorAction SilentlyContinue | ForEach-Object { "guest folder $($_.Name)" }
    }
}

Describe 'Documented pipelines leave nothing behind when a stage fails' -Skip:$IsWindows {
    It '<Name>' -ForEach $cases {
        $work = Join-Path ([IO.Path]::GetTempPath()) "obb-pipefail-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
        New-Item -ItemType Directory "$work/home", "$work/src" | Out-Null
        Set-Content "$work/src/build.sh" "mkdir -p out`necho built > out/a`n" -NoNewline
        $prelude = "`$image = '$($guest.Path)'; `$key = '$($guest.KeyFile)'; `$src = '$work/src'`nImport-Module OpenBsdBuild`n"
        $saved = @{ HOME = $env:HOME; PSModulePath = $env:PSModulePath }
        $env:HOME = "$work/home"
        $env:PSModulePath = (Split-Path (Split-Path $ModuleManifest)) + [IO.Path]::PathSeparator + $env:PSModulePath
        try {
            $log = & $PwshPath -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1 | Out-String
            $exit = $LASTEXITCODE
            $left = @(Get-LeftBehind "$work/home")
            $lines = @($log -split "`r?`n" | Where-Object { $_.Trim() })
            $left | Should -BeNullOrEmpty -Because "nothing may be left; the run said:`n$log"
            ($ExitCode ?? 0) | Should -Be $exit -Because $log
            # The script's own last line, among the lines pwsh wrote: its stdout and stderr arrive through two pipes,
            # so an error written before that line may still be read after it.
            if ($ExitCode) { $log | Should -BeLike $Expect -Because $log }
            else { @($lines | Where-Object { $_ -like $Expect }) | Should -Not -BeNullOrEmpty -Because "a line like '$Expect' is printed; the run said:`n$log" }
        }
        finally {
            # Whatever a failed case left is ended so that the next case and the machine are clean.
            Get-Process qemu-system-* -ErrorAction SilentlyContinue |
                Where-Object { (Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -like "*$work*" } | Stop-Process -Force
            $env:HOME = $saved.HOME; $env:PSModulePath = $saved.PSModulePath
            Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
        }
    }
}
