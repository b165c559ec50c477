#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# What a user sees of a real build in real pwsh, against the test guest on this machine: build output shown by default
# (and free of escape codes), Invoke-OpenBsdBuild's progress nested under its own bar, and Get-OpenBsdGuest with no
# host finding a guest another process left running. With $ConfirmPreference = 'Low' (so that each would ask), -WhatIf
# does nothing and -Confirm:$false proceeds for Start-OpenBsdGuest, Invoke-GuestBuild and Stop-OpenBsdGuest.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    Import-Module $ModuleManifest -Force
    $script:guest = Get-TestGuestImage
    $script:name = "pester-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    $script:work = Join-Path ([IO.Path]::GetTempPath()) $name
    New-Item -ItemType Directory "$work/src" | Out-Null
    Set-Content "$work/src/build.sh" "mkdir -p out; echo one > out/a`n" -NoNewline
    $progressFile = Join-Path $work 'progress.xml'

    # Another process, as a user at a terminal: a guest it leaves running, a build, and Invoke-OpenBsdBuild's progress
    # records (taken from a nested PowerShell, the only way to see them outside an interactive host).
    $script = @"
`$ErrorActionPreference = 'Stop'
`$ConfirmPreference = 'Low'
Set-Location '$work'
Import-Module '$ModuleManifest'
`$wg = Connect-MetalHost -Local | Start-OpenBsdGuest -Image '$($guest.Path)' -KeyFile '$($guest.KeyFile)' -Name '$name-whatif' -WhatIf
"whatif-guests: `$(@(`$wg).Count) listed: `$(@(Get-OpenBsdGuest '$name-whatif').Count) files: `$(Test-Path "`$HOME/.openbsdbuild/guests/$name-whatif")"
`$g = Connect-MetalHost -Local | Start-OpenBsdGuest -Image '$($guest.Path)' -KeyFile '$($guest.KeyFile)' -Name '$name' -BootTimeout 00:20:00 -Confirm:`$false
`$w = `$g | Invoke-GuestBuild -Command 'touch /tmp/obb-whatif-ran' -MinFreeSpace 1MB -WhatIf
"whatif-results: `$(@(`$w).Count)"
`$null = `$g | Invoke-GuestBuild -Command "echo visible-line; printf '\033[2J\033[31mafter-clear\033[0m\n'; [ -e /tmp/obb-whatif-ran ] || echo whatif-ran-nothing" -MinFreeSpace 1MB -Confirm:`$false
`$ConfirmPreference = 'High' # Export-Clixml below would ask too
`$ps = [powershell]::Create().AddScript({
    param(`$image, `$key, `$src)
    Import-Module '$ModuleManifest'
    Connect-MetalHost -Local | Invoke-OpenBsdBuild -Image `$image -KeyFile `$key -Path `$src -Command 'sh build.sh' -Artifact out/a -MinFreeSpace 1MB -BootTimeout 00:20:00
}).AddArgument('$($guest.Path)').AddArgument('$($guest.KeyFile)').AddArgument('$work/src')
`$null = `$ps.Invoke()
`$ps.Streams.Progress | Select-Object ActivityId, ParentActivityId, Activity, StatusDescription, RecordType | Export-Clixml '$progressFile'
"errors: `$(`$ps.Streams.Error.Count)"
`$ps.Streams.Error | ForEach-Object { "error: `$(`$_.FullyQualifiedErrorId): `$(`$_.Exception.Message)" }
"@
    $script:output = & $PwshPath -NoProfile -NonInteractive -Command $script 2>&1 | Out-String
    $script:status = $LASTEXITCODE
    $script:progress = if (Test-Path $progressFile) { Import-Clixml $progressFile }
}

AfterAll {
    Get-OpenBsdGuest $name | Stop-OpenBsdGuest -Force -Confirm:$false
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'A build seen from pwsh' -Skip:$IsWindows {
    It 'ran' {
        $status | Should -Be 0 -Because $output
        $output | Should -Match 'errors: 0'
    }

    It 'shows build output without -InformationAction, with escape codes removed' {
        $output | Should -Match '(?m)^visible-line'
        $output | Should -Match '(?m)^after-clear'
        $output | Should -Not -Match "`e"
    }

    It 'draws Invoke-OpenBsdBuild''s steps as children of its own bar' {
        $root = @($progress | Where-Object Activity -eq 'Invoke-OpenBsdBuild')
        $root | Should -Not -BeNullOrEmpty
        $root[0].ParentActivityId | Should -Be -1
        $children = @($progress | Where-Object { $_.Activity -ne 'Invoke-OpenBsdBuild' -and $_.RecordType -ne 'Completed' })
        $children | Should -Not -BeNullOrEmpty
        $children | ForEach-Object { $_.ParentActivityId | Should -Be $root[0].ActivityId -Because $_.Activity }
        $progress.StatusDescription | Should -Not -Match "`e"
    }

    It 'started no guest for Start-OpenBsdGuest -WhatIf: no object, none listed, no guest files' {
        $output | Should -Match 'whatif-guests: 0 listed: 0 files: False'
    }

    It 'ran nothing in the guest for Invoke-GuestBuild -WhatIf, and Start-OpenBsdGuest and Invoke-GuestBuild went ahead with -Confirm:$false' {
        $output | Should -Match 'whatif-results: 0'
        $output | Should -Match '(?m)^whatif-ran-nothing'
    }

    It 'lists, with no host given, the guest another process left running' {
        $found = Get-OpenBsdGuest $name
        $found | Should -HaveCount 1
        $found.State | Should -Be 'Detached'
        $found.Host.Provider | Should -Be 'Local'
    }

    It 'keeps the guest running with Stop-OpenBsdGuest -WhatIf and stops it with -Confirm:$false' {
        $ConfirmPreference = 'Low'
        Get-OpenBsdGuest $name | Stop-OpenBsdGuest -WhatIf
        (Get-OpenBsdGuest $name).State | Should -Be 'Detached'
        Get-OpenBsdGuest $name | Stop-OpenBsdGuest -Force -Confirm:$false
        $ConfirmPreference = 'High'
        Get-OpenBsdGuest $name | Should -BeNullOrEmpty
    }
}
