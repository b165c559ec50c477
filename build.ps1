#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, packages or cleans OpenBsdBuild.
.DESCRIPTION
    Without switches, builds the solution and lays out the module folder out/OpenBsdBuild
    (Import-Module ./out/OpenBsdBuild). Switches combine: -Clean -Test -Package cleans, builds,
    tests, then packages.
.EXAMPLE
    ./build.ps1                 # build the module folder into out/OpenBsdBuild
.EXAMPLE
    ./build.ps1 -Test           # build, run the xunit suite, then the Pester suite
.EXAMPLE
    ./build.ps1 -Package        # build Release and lay out a gallery-ready folder in out/package/OpenBsdBuild
.EXAMPLE
    ./build.ps1 -Clean          # delete out/ and every project's bin/ and obj/
#>
[CmdletBinding()]
param(
    # Delete out/ and every project's bin/ and obj/ first (alone: only that).
    [switch] $Clean,
    # Run the xunit suite (it needs QEMU, sshd and root: see .ci/run), then tests/Pester (Pester 5 from .tools/ or installed).
    [switch] $Test,
    # Lay out out/package/OpenBsdBuild from a Release build: the folder Publish-Module -Path takes.
    [switch] $Package,
    # For the build and -Test; -Package alone builds Release.
    [ValidateSet('Debug', 'Release')] [string] $Configuration = 'Debug'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
# Only PowerShell's own engine below (no Microsoft.PowerShell.Management or .Utility cmdlets, .NET for files),
# so the script also runs in a hosted PowerShell: tests/OpenBsdBuild.Tests/Module/PackageTests.cs runs -Package.
# Paths are absolute, so the caller's location is left alone.
$root = $PSScriptRoot

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE) { throw "dotnet $($args[0]) failed (exit code $LASTEXITCODE)" }
}

function Remove-Folder([string] $Path) {
    if ([System.IO.Directory]::Exists($Path)) { [System.IO.Directory]::Delete($Path, $true) }
}

if ($Clean) {
    Remove-Folder ([System.IO.Path]::Combine($root, 'out'))
    foreach ($group in 'src', 'tests', 'bench') {
        $groupPath = [System.IO.Path]::Combine($root, $group)
        if (-not [System.IO.Directory]::Exists($groupPath)) { continue }
        foreach ($project in [System.IO.Directory]::GetDirectories($groupPath)) {
            foreach ($output in 'bin', 'obj') { Remove-Folder ([System.IO.Path]::Combine($project, $output)) }
        }
    }
    if (-not ($Test -or $Package)) { return }
}

# -Package alone builds only what ships; with -Test the whole solution is built (and tested) first.
if ($Package -and -not $PSBoundParameters.ContainsKey('Configuration')) { $Configuration = 'Release' }
if ($Test -or -not $Package) {
    Invoke-Dotnet build ([System.IO.Path]::Combine($root, 'OpenBsdBuild.sln')) -c $Configuration
}

if ($Test) {
    Invoke-Dotnet test ([System.IO.Path]::Combine($root, 'OpenBsdBuild.sln')) -c $Configuration --no-build
    # Pester 5.7.1 as .ci/run installs it into .tools/, else whatever Pester 5 is installed; never silently skipped.
    $pester = [System.IO.Path]::Combine($root, '.tools', 'pester', '5.7.1', 'tools', 'Pester.psd1')
    if (-not [System.IO.File]::Exists($pester)) {
        $installed = @(Get-Module -ListAvailable Pester | Where-Object Version -ge '5.0')[0]
        if (-not $installed) { throw 'Pester 5 is missing: bash .ci/run installs it into .tools/ (or Install-Module Pester -MinimumVersion 5.0).' }
        $pester = $installed.Path
    }
    & ([System.IO.Path]::Combine($root, 'tests', 'Pester', 'Invoke-Tests.ps1')) -PesterPath $pester
    if ($LASTEXITCODE) { throw 'Pester tests failed' }
}

if ($Package) {
    if ($Configuration -ne 'Release') { $PSCmdlet.WriteWarning("Packaging a $Configuration build; the gallery should get Release.") }
    # Laid out by the build itself into an emptied folder: nothing stale from earlier builds can ship,
    # and out/OpenBsdBuild (the one tests and Import-Module ./out/OpenBsdBuild use) is left as it was.
    $target = [System.IO.Path]::Combine($root, 'out', 'package', 'OpenBsdBuild')
    Remove-Folder $target
    $project = [System.IO.Path]::Combine($root, 'src', 'OpenBsdBuild', 'OpenBsdBuild.csproj')
    Invoke-Dotnet build $project -c $Configuration "-p:ModuleOutput=$target$([System.IO.Path]::DirectorySeparatorChar)"
    $manifest = Test-ModuleManifest ([System.IO.Path]::Combine($target, 'OpenBsdBuild.psd1'))
    $Host.UI.WriteLine("Publishable module folder: $target ($($manifest.Name) $($manifest.Version), $Configuration). Publish-Module -Path '$target' -NuGetApiKey ...")
}
