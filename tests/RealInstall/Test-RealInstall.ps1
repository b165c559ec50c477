<#
.SYNOPSIS
    Checks New-OpenBsdImage against a real OpenBSD installer, end to end, on this machine.
.DESCRIPTION
    What the test suite cannot do without the media: verify the media, install OpenBSD unattended,
    run the first boot over SSH, compress, then boot the new image with its host key pinned from the
    metadata and run a command in it. Everything it creates is removed unless -Keep is given.
    Needs pwsh 7, QEMU for the architecture and UEFI firmware (Debian: qemu-system-arm
    qemu-efi-aarch64 qemu-utils), and the module built (dotnet build, or ./build.ps1).
.EXAMPLE
    pwsh tests/RealInstall/Test-RealInstall.ps1 -InstallMedia ./install78.img -SignifyPublicKey ./openbsd-78-base.pub
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $InstallMedia,
    [string] $SignifyPublicKey,
    [string] $Version,
    [ValidateSet('arm64', 'amd64')] [string] $Architecture = 'arm64',
    [string[]] $Package = @('git'),
    [string] $WorkDirectory = (Join-Path ([IO.Path]::GetTempPath()) "obb-real-install-$PID"),
    [switch] $Interactive,
    [switch] $Keep
)
$ErrorActionPreference = 'Stop'
$repo = Split-Path (Split-Path $PSScriptRoot)
Import-Module (Join-Path $repo 'out/OpenBsdBuild/OpenBsdBuild.psd1') -Force

# install78.img -> 7.8
if (-not $Version) {
    if ((Split-Path $InstallMedia -Leaf) -notmatch '^install(\d)(\d)\.') { throw "Pass -Version: '$InstallMedia' is not named installNN.img." }
    $Version = "$($Matches[1]).$($Matches[2])"
}
New-Item -ItemType Directory -Force -Path $WorkDirectory | Out-Null
$key = Join-Path $WorkDirectory 'build_ed25519'
ssh-keygen -q -t ed25519 -N '' -C 'obb-real-install' -f $key
if ($LASTEXITCODE) { throw 'ssh-keygen failed' }

$local = Connect-MetalHost -Local
$guest = $null
try {
    $imageArgs = @{
        Version = $Version; Architecture = $Architecture; InstallMedia = $InstallMedia
        BuildUserKey = "$key.pub"; Package = $Package; Interactive = $Interactive
        Output = Join-Path $WorkDirectory "openbsd-$Version-$Architecture.qcow2"; Force = $true
    }
    if ($SignifyPublicKey) { $imageArgs.SignifyPublicKey = $SignifyPublicKey }
    $image = $local | New-OpenBsdImage @imageArgs -Verbose
    $image | Format-List *

    $guest = $local | Start-OpenBsdGuest -Image $image -KeyFile $key -Verbose
    $result = $guest | Invoke-GuestBuild -Command 'uname -a; pkg_info -q; df -h /usr/obj /usr/local /tmp' -Verbose
    if ($result.ExitCode -ne 0) { throw "the command in the new image failed with exit code $($result.ExitCode)" }
    "PASS: OpenBSD $Version/$Architecture installed, booted with its pinned host key and ran a command."
}
finally {
    if ($guest) { $guest | Stop-OpenBsdGuest -Confirm:$false }
    if (-not $Keep) { Remove-Item -Recurse -Force $WorkDirectory -ErrorAction SilentlyContinue }
}
