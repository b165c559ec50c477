<#
.SYNOPSIS
    Checks New-OpenBsdImage against a real OpenBSD installer, end to end, on this machine.
.DESCRIPTION
    What the test suite cannot do without the media: verify the media, install OpenBSD unattended
    (or with -Interactive, which ends with a power-down), run the first boot over SSH, compress, then
    boot the new image with its host key pinned from the metadata and run a build in it with the
    default working directory and -MinFreeSpace. The build checks what the stand-ins imitate: the
    build user's data size is unlimited (login class openbsdbuild, not OpenBSD's capped 'build'), it
    works under /usr/obj/openbsdbuild, and the packages (from -PackagePath, e.g. a local folder of
    .tgz files, which pkg_add lists through the served HTML index) are installed.
    The signify key is required: installNN.img has no SHA256.sig for its sets, so only media the
    module verified may be installed without the installer's own check.
    Everything it creates is removed unless -Keep is given.
    Needs pwsh 7, QEMU for the architecture and UEFI firmware (Debian: qemu-system-arm
    qemu-efi-aarch64 qemu-utils), and the module built (dotnet build, or ./build.ps1).
.EXAMPLE
    pwsh tests/RealInstall/Test-RealInstall.ps1 -InstallMedia ./install78.img -SignifyPublicKey ./openbsd-78-base.pub
.EXAMPLE
    pwsh tests/RealInstall/Test-RealInstall.ps1 -InstallMedia ./install78.img -SignifyPublicKey ./openbsd-78-base.pub -Interactive -PackagePath ./packages -Package git
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $InstallMedia,
    [Parameter(Mandatory)] [string] $SignifyPublicKey,
    [string] $PackagePath,
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
        SignifyPublicKey = $SignifyPublicKey
    }
    if ($PackagePath) { $imageArgs.PackagePath = $PackagePath }
    $image = $local | New-OpenBsdImage @imageArgs -Verbose
    $image | Format-List *

    $guest = $local | Start-OpenBsdGuest -Image $image -KeyFile $key -Verbose
    $command = 'uname -a; echo "datasize=$(ulimit -d)/$(ulimit -H -d)"; echo "pwd=$(pwd)"; echo "packages=$(pkg_info -q | tr "\n" " ")"; df -h /usr/obj /usr/local /tmp /home'
    $result = $guest | Invoke-GuestBuild -Command $command -Verbose -InformationVariable lines -WarningVariable warnings
    if ($result.ExitCode -ne 0) { throw "the command in the new image failed with exit code $($result.ExitCode)" }
    $text = @($lines | ForEach-Object { "$($_.MessageData)" })
    if ($text -notcontains 'datasize=unlimited/unlimited') { throw "the build user's data size is capped: $($text -match '^datasize=')" }
    if (-not ($text -match '^pwd=/usr/obj/openbsdbuild/')) { throw "the build did not run under /usr/obj/openbsdbuild: $($text -match '^pwd=') $warnings" }
    foreach ($p in $Package) {
        if (-not ($text -match "^packages=.*\b$([regex]::Escape($p))-[0-9]")) { throw "package $p is not installed: $($text -match '^packages=')" }
    }
    "PASS: OpenBSD $Version/$Architecture installed, booted with its pinned host key and built as the build user under /usr/obj with no data-size cap."
}
finally {
    if ($guest) { $guest | Stop-OpenBsdGuest -Confirm:$false }
    if (-not $Keep) { Remove-Item -Recurse -Force $WorkDirectory -ErrorAction SilentlyContinue }
}
