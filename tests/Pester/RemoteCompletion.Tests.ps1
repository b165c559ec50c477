#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# -Image completion (pwsh's own TabExpansion2) for a host attached over SSH: the paths are read on that host, where
# Start-OpenBsdGuest will open them. The host is xunit's netns sshd (Start-Ec2Emulator -Metal; no instance is launched).
# It shares this machine's disk, so the folder the test completes has other contents there: a tmpfs mounted over it in
# the sshd's own mount namespace. No guest is booted; the file takes a few seconds.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    Import-Module $ModuleManifest -Force
    $script:lab = Start-Ec2Emulator -Metal
    $script:ssh = $lab.Metal
    $script:folder = Join-Path ([IO.Path]::GetTempPath()) "obb-complete-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
    New-Item -ItemType Directory "$folder/local-only" | Out-Null
    Set-Content "$folder/local.qcow2" 'here'
    # What the host sees at the same path: images (one without .qcow2 but with its sidecar), a folder, a note, a sidecar.
    $sshdPid = (Get-Content (Join-Path (Split-Path $ssh.KeyFile) 'sshd.pid') -Raw).Trim()
    nsenter --target $sshdPid --mount -- sh -c "mount -t tmpfs tmpfs '$folder' && mkdir '$folder/remote-folder' && cd '$folder' && : > remote.qcow2 && : > remote.qcow2.json && : > raw.img && : > raw.img.json && : > notes.txt"
    if ($LASTEXITCODE) { throw 'could not lay out the folder on the host' }
    # A key of its own whose logins get that folder as $HOME (authorized_keys' environment=, which the lab's sshd permits),
    # so ~/ on the host is not ~ here.
    $script:keys = "$folder-key"
    New-Item -ItemType Directory $keys | Out-Null
    ssh-keygen -q -t ed25519 -N '' -f "$keys/id" | Out-Null
    Add-Content (Join-Path (Split-Path $ssh.KeyFile) 'authorized_keys') "environment=`"HOME=$folder`" $(Get-Content "$keys/id.pub" -Raw)".Trim()
    $script:connect = "-HostName $($ssh.Address) -User root -KeyFile '$keys/id' -HostKeyFingerprint $($ssh.HostKeyFingerprint)"
    $script:box = Invoke-Expression "Connect-MetalHost $connect -StateDirectory '$folder/state'"

    function Get-Offered([string] $Line) { (TabExpansion2 $Line $Line.Length).CompletionMatches.CompletionText }
}

AfterAll {
    if ($box) { $box | Disconnect-MetalHost -Confirm:$false }
    if ($lab) { Stop-Ec2Emulator $lab }
    Remove-Item -Recurse -Force $folder, $keys -ErrorAction SilentlyContinue
}

Describe '-Image completion on a host attached over SSH' -Skip:$IsWindows {
    It 'reads the host''s folder for <Shape>: images and folders there, not notes, sidecars or this machine''s files' -ForEach @(
        @{ Shape = 'a host piped in from a variable'; Line = '$box | Start-OpenBsdGuest -Image {0}/' }
        @{ Shape = 'a host given to -MetalHost'; Line = 'Start-OpenBsdGuest -MetalHost $box -Image {0}/' }
        @{ Shape = 'Connect-MetalHost -HostName of a host attached in this session'; Line = 'Connect-MetalHost {1} | Start-OpenBsdGuest -Image {0}/' }
        @{ Shape = 'Invoke-OpenBsdBuild on a piped host'; Line = '$box | Invoke-OpenBsdBuild -Command true -Image {0}/' }
    ) {
        $offered = Get-Offered ($Line -f $folder, $connect)
        $offered | Sort-Object | Should -Be "$folder/raw.img", "$folder/remote-folder/", "$folder/remote.qcow2"
    }

    It 'completes the name typed so far, and reads ~/ as the login''s home there' {
        Get-Offered "`$box | Start-OpenBsdGuest -Image $folder/rem" | Sort-Object | Should -Be "$folder/remote-folder/", "$folder/remote.qcow2"
        Get-Offered '$box | Start-OpenBsdGuest -Image ~/' | Sort-Object | Should -Be '~/raw.img', '~/remote-folder/', '~/remote.qcow2'
    }

    It 'still reads this machine''s folder for Connect-MetalHost -Local' {
        Get-Offered "Connect-MetalHost -Local | Start-OpenBsdGuest -Image $folder/" | Sort-Object | Should -Be "$folder/local-only/", "$folder/local.qcow2"
    }
}
