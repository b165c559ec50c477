#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# The README's first block (the main job) runs as printed, in a fresh pwsh, against the test guest on this machine.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    $script:mainJob = (Get-MarkdownCodeBlock (Join-Path $RepoRoot 'README.md'))[0]
}

Describe 'README main job' -Skip:$IsWindows {
    It 'is the first block, a PowerShell one that builds, imports and runs the pipeline' {
        $mainJob.Language | Should -Be 'powershell'
        $mainJob.Code | Should -Match '(?m)^\./build\.ps1; Import-Module \./out/OpenBsdBuild$'
        $mainJob.Code | Should -Match 'Disconnect-MetalHost'
    }

    It 'runs as printed: builds in a guest, brings the artifact back verified, leaves no guest behind' {
        $guest = Get-TestGuestImage
        $work = Join-Path ([IO.Path]::GetTempPath()) "obb-readme-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
        $home_ = Join-Path $work 'home'
        $project = Join-Path $work 'project'
        try {
            # What a reader has: an image with its sidecar under ~/images, the key it authorizes, a project folder.
            New-Item -ItemType Directory "$home_/images", "$home_/.ssh", "$project/engine" | Out-Null
            New-Item -ItemType SymbolicLink "$home_/images/openbsd-7.8-arm64.qcow2" -Target $guest.Path | Out-Null
            Copy-Item "$($guest.Path).json" "$home_/images/openbsd-7.8-arm64.qcow2.json"
            Copy-Item $guest.KeyFile "$home_/.ssh/openbsd-build"
            chmod 600 "$home_/.ssh/openbsd-build"
            Set-Content "$project/engine/build.sh" "mkdir -p out`nuname -m > out/engine`necho built`n" -NoNewline
            $results = Join-Path $work 'results.xml'

            # Line by line as printed: the first in the repository (it builds and imports the module), the rest in
            # the project folder. The block's output is kept for the assertions below.
            $lines = $mainJob.Code -split "`n" | Where-Object { $_ -notmatch '^\s*#' }
            $setup = $lines[0]
            $pipeline = ($lines | Select-Object -Skip 1) -join "`n"
            $script = "`$ErrorActionPreference = 'Stop'`nSet-Location '$RepoRoot'`n$setup`nSet-Location '$project'`n" +
                      "`$out = @(`n$pipeline`n)`n`$out | Export-Clixml '$results'"
            $env:HOME, $savedHome = $home_, $env:HOME
            try { $log = & $PwshPath -NoProfile -NonInteractive -Command $script 2>&1 | Out-String }
            finally { $env:HOME = $savedHome }
            $LASTEXITCODE | Should -Be 0 -Because $log

            $out = Import-Clixml $results
            $out | Should -HaveCount 1
            $out[0].Succeeded | Should -BeTrue
            $artifact = $out[0].Artifacts[0]
            $artifact.Name | Should -Be 'engine'
            Get-Content $artifact.FullName | Should -Be 'aarch64'
            (Get-FileHash $artifact.FullName -Algorithm SHA256).Hash | Should -Be $artifact.Sha256
            $artifact.FullName | Should -BeLike "$project*"
            # Disconnect-MetalHost stopped the guest the pipeline started.
            Get-Process qemu-system-aarch64 -ErrorAction SilentlyContinue |
                Where-Object { (Get-Content "/proc/$($_.Id)/cmdline" -Raw) -like "*$home_*" } | Should -BeNullOrEmpty
        }
        finally { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
    }
}
