#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, packages or cleans OpenBsdBuild.
.EXAMPLE
    ./build.ps1                 # build the module folder into out/OpenBsdBuild
.EXAMPLE
    ./build.ps1 -Test           # build, run the xunit suite, and the Pester tests if Pester 5 is installed
.EXAMPLE
    ./build.ps1 -Package        # build Release and lay out a gallery-ready folder in out/package/OpenBsdBuild
#>
[CmdletBinding()]
param(
    [switch] $Clean,
    [switch] $Test,
    [switch] $Package,
    [ValidateSet('Debug', 'Release')] [string] $Configuration = 'Debug'
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot

if ($Clean) {
    foreach ($dir in 'out', 'src/OpenBsdBuild/bin', 'src/OpenBsdBuild/obj', 'src/OpenBsdBuild.Engine/bin', 'src/OpenBsdBuild.Engine/obj',
                     'tests/OpenBsdBuild.Tests/bin', 'tests/OpenBsdBuild.Tests/obj') {
        if (Test-Path $dir) { Remove-Item -Recurse -Force $dir }
    }
    if (-not ($Test -or $Package)) { return }
}

if ($Package) { $Configuration = 'Release' }
dotnet build OpenBsdBuild.sln -c $Configuration
if ($LASTEXITCODE) { throw "dotnet build failed ($LASTEXITCODE)" }

if ($Test) {
    dotnet test OpenBsdBuild.sln -c $Configuration --no-build
    if ($LASTEXITCODE) { throw "dotnet test failed ($LASTEXITCODE)" }
    if (Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0') {
        $result = Invoke-Pester -Path tests/Pester -PassThru -Output Detailed
        if ($result.FailedCount) { throw "$($result.FailedCount) Pester test(s) failed" }
    } else {
        Write-Warning 'Pester 5 is not installed; skipped tests/Pester (Install-Module Pester -MinimumVersion 5.0).'
    }
}

if ($Package) {
    $target = Join-Path 'out/package' 'OpenBsdBuild'
    if (Test-Path $target) { Remove-Item -Recurse -Force $target }
    New-Item -ItemType Directory $target | Out-Null
    Copy-Item out/OpenBsdBuild/* $target -Recurse
    Test-ModuleManifest (Join-Path $target 'OpenBsdBuild.psd1') | Out-Null
    Write-Host "Publishable module folder: $target (Publish-Module -Path $target -NuGetApiKey ...)"
}
