#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The docs' code runs as printed: docs/testing-your-automation.md's blocks are files (each names itself in its first
# line) that a fresh pwsh runs with Pester, importing the module by name as a user's tests do.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
}

Describe 'docs/testing-your-automation.md' -Skip:$IsWindows {
    BeforeAll {
        $script:page = Join-Path $RepoRoot 'docs/testing-your-automation.md'
        $script:files = Get-MarkdownCodeBlock $page -Language powershell | ForEach-Object {
            if ($_.Code -notmatch '^# (?<name>[\w.-]+\.ps1)\r?\n') { throw "A block of $page does not name its file in its first line:`n$($_.Code)" }
            [pscustomobject]@{ Name = $Matches.name; Code = $_.Code }
        }
        # The image and key the -WhatIf recipe names: the test guest's, where a reader would have theirs.
        $script:guest = Get-TestGuestImage
    }

    It 'prints every recipe as a file: the script under test and its tests' {
        $files.Name | Should -Contain 'Publish-Release.ps1'
        @($files | Where-Object Name -like '*.Tests.ps1').Count | Should -BeGreaterOrEqual 4
    }

    It 'runs every recipe green as printed' {
        $work = Join-Path ([IO.Path]::GetTempPath()) "obb-recipes-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
        $home_ = Join-Path $work 'home'
        try {
            New-Item -ItemType Directory "$work/tests", "$home_/images", "$home_/.ssh" | Out-Null
            Copy-Item $guest.KeyFile "$home_/.ssh/openbsd_build"
            foreach ($file in $files) { Set-Content (Join-Path "$work/tests" $file.Name) $file.Code }
            New-Item -ItemType SymbolicLink "$home_/images/openbsd-7.8-arm64.qcow2" -Target $guest.Path | Out-Null
            Copy-Item "$($guest.Path).json" "$home_/images/openbsd-7.8-arm64.qcow2.json"
            $moduleRoot = Split-Path (Split-Path $ModuleManifest)
            $pester = (Get-Module Pester).Path
            $expected = ([regex]::Matches(($files.Code -join "`n"), "(?m)^\s*It '")).Count
            $script = @"
`$env:PSModulePath = '$moduleRoot' + [IO.Path]::PathSeparator + `$env:PSModulePath
Import-Module '$pester'
`$r = Invoke-Pester -Path '$work/tests' -PassThru -Output Detailed
"ran `$(`$r.TotalCount) passed `$(`$r.PassedCount) failed `$(`$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount)"
"@
            $env:HOME, $savedHome = $home_, $env:HOME
            try { $log = & $PwshPath -NoProfile -NonInteractive -Command $script 2>&1 | Out-String }
            finally { $env:HOME = $savedHome }
            $log | Should -Match "ran $expected passed $expected failed 0" -Because $log
        }
        finally { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
    }
}
