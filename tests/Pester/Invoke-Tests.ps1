#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Runs the Pester suite (tests/Pester) with a given Pester module and prints one totals line for .ci/test.
.EXAMPLE
    ./tests/Pester/Invoke-Tests.ps1 -PesterPath .tools/pester/5.7.1/tools/Pester.psd1 -FullName '*Connect-MetalHost*'
#>
param(
    # Pester.psd1 to import (.ci/run installs 5.7.1 into .tools/pester).
    [Parameter(Mandatory)] [string] $PesterPath,
    # Test files or folders; default: this folder.
    [string[]] $Path = $PSScriptRoot,
    # Only tests whose full name matches (wildcards), e.g. '*Connect-MetalHost*'.
    [string[]] $FullName
)
$ErrorActionPreference = 'Stop'
# A path, not a module name: .ci/test passes it relative to the repository.
Import-Module (Resolve-Path -LiteralPath $PesterPath).ProviderPath -Force
$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
if ($FullName) { $config.Filter.FullName = $FullName }
$result = Invoke-Pester -Configuration $config
# Failed blocks and containers (a BeforeAll that threw, a file that does not parse) count as failures too.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
"Pester totals: $($result.PassedCount) passed, $failed failed, $($result.SkippedCount) skipped"
if ($result.Result -ne 'Passed' -or $result.TotalCount -eq 0) { exit 1 }
