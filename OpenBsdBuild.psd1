@{
    RootModule           = 'OpenBsdBuild.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '5d0c7a3e-8b1f-4c52-9a6e-2f3d4b1c9e07'
    Author               = 'OpenBsdBuild contributors'
    CompanyName          = 'OpenBsdBuild'
    Copyright            = '(c) OpenBsdBuild contributors. MIT License (LICENSE).'
    Description          = 'Native OpenBSD/arm64 and amd64 builds on rented cloud metal: start a host, boot OpenBSD as a KVM guest, build, collect checksummed artifacts, tear everything down - as pipeable objects.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    # The pipeline's object types, loaded where scripts can name them ([OpenBsdBuild.Model.MetalHost]); the engine
    # and the SDKs load apart from other modules' versions (dependencies/, see ModuleInitializer.cs).
    RequiredAssemblies   = @('OpenBsdBuild.Model.dll')
    FormatsToProcess     = @('OpenBsdBuild.format.ps1xml')
    CmdletsToExport      = @(
        'Connect-MetalHost'
        'Disconnect-MetalHost'
        'New-MetalHost'
        'New-OpenBsdInstance'
        'Get-MetalHost'
        'Start-OpenBsdGuest'
        'Get-OpenBsdGuest'
        'Stop-OpenBsdGuest'
        'Invoke-GuestBuild'
        'Remove-MetalHost'
        'Invoke-OpenBsdBuild'
        'Get-OpenBsdImage'
        'Publish-OpenBsdImage'
        'Remove-OpenBsdImage'
        'New-OpenBsdImage'
        'Register-OpenBsdAmi'
        'Get-OpenBsdAmi'
        'Unregister-OpenBsdAmi'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('OpenBSD', 'arm64', 'QEMU', 'KVM', 'EC2', 'AWS', 'Build', 'CI', 'Release')
            LicenseUri   = 'https://github.com/openbsdbuild/OpenBsdBuild/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/openbsdbuild/OpenBsdBuild'
            ReleaseNotes = @'
0.1.0: EC2 metal hosts (New-MetalHost, Get-MetalHost -Orphaned, Remove-MetalHost with a cost report), local and SSH
hosts (Connect-MetalHost, Disconnect-MetalHost), OpenBSD guests under QEMU/KVM with pinned host keys, builds with
SHA-256-verified artifacts (Invoke-GuestBuild, Invoke-OpenBsdBuild with teardown on every failure), golden images
installed unattended from signify-verified media and kept locally or in S3 (New-/Publish-/Get-/Remove-OpenBsdImage).
AWS.Tools conventions for credentials and region. Output types usable from scripts and Pester mocks
([OpenBsdBuild.Model.MetalHost]). See about_OpenBsdBuild and https://github.com/openbsdbuild/OpenBsdBuild/tree/main/docs.
'@
        }
    }
}
