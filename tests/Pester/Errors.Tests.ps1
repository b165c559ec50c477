#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Bad input is an error in the module's own shape: OpenBsdBuild.<Id>, the right category, the bad value itself as the
# target (not a PSObject wrapper), a recommended action, and nothing started.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    Import-Module $ModuleManifest -Force
}

Describe 'Errors in the module''s format' {
    It 'refuses an S3 destination whose bucket S3 would refuse, naming -Destination' {
        $err = { Publish-OpenBsdImage -Image $PSCommandPath -Destination s3://b/p/ -Region us-east-1 -AK x -SK y } |
            Should -Throw -ErrorId 'OpenBsdBuild.InvalidParameter.Destination,*' -PassThru
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.TargetObject | Should -Be 's3://b/p/'
        $err.ErrorDetails.RecommendedAction | Should -Not -BeNullOrEmpty
    }

    It 'takes s3:/typo for a mistyped S3 URI, not a drive' {
        $err = { Get-OpenBsdImage -Location s3:/typo } | Should -Throw -ErrorId 'OpenBsdBuild.InvalidParameter.Location,*' -PassThru
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.TargetObject | Should -Be 's3:/typo'
        $err.ErrorDetails.RecommendedAction | Should -Match 's3://'
    }

    It 'names a path on a drive that does not exist as -Location''s problem' {
        { Get-OpenBsdImage -Location nosuchdrive:/images } | Should -Throw -ErrorId 'OpenBsdBuild.InvalidParameter.Location,*'
    }

    It 'reports input that is not a host with the input itself as target (<Command>)' -ForEach @(
        @{ Command = 'Remove-MetalHost' }, @{ Command = 'Disconnect-MetalHost' }
    ) {
        $errors = $null
        try { 42 | & $Command -ErrorAction SilentlyContinue -ErrorVariable errors } catch { $errors = @($_) }
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'OpenBsdBuild.NotAHost,*'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errors[0].TargetObject | Should -BeOfType [int]
        $errors[0].TargetObject | Should -Be 42
    }
}

Describe 'Units' {
    It 'says a bare -Memory number is bytes and how to write a size' {
        $err = { Connect-MetalHost -Local | Start-OpenBsdGuest -Image /nonexistent.qcow2 -Memory 512 -WhatIf } |
            Should -Throw -ErrorId 'ParameterArgumentValidationError,*' -PassThru
        $err.Exception.Message | Should -Match 'in bytes.*with a unit, e.g. 512MB or 4GB'
    }

    It 'takes -Memory 4GB as 4 GiB' {
        (Get-Command Start-OpenBsdGuest).Parameters.Memory.ParameterType | Should -Be ([long])
        { Connect-MetalHost -Local | Start-OpenBsdGuest -Image /nonexistent.qcow2 -Memory 4GB -TrustHostKey -KeyFile $PSCommandPath -WhatIf } | Should -Not -Throw
    }

    It 'takes every duration as a TimeSpan: <_>' -ForEach @(
        (Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../OpenBsdBuild.psd1')).CmdletsToExport
    ) {
        foreach ($p in (Get-Command $_).Parameters.Values | Where-Object { $_.Name -match 'Timeout|Lifetime|Grace|Period' -and -not ($_.Attributes | Where-Object { $_ -is [Parameter] -and $_.DontShow }) }) {
            $p.ParameterType | Should -BeIn @([timespan], [Nullable[timespan]]) -Because "-$($p.Name)"
        }
    }

    It 'accepts -LiteralPath for the sources of <_>' -ForEach 'Invoke-GuestBuild', 'Invoke-OpenBsdBuild' {
        (Get-Command $_).Parameters.Path.Aliases | Should -Contain 'LiteralPath'
    }

    It 'reads -LiteralPath literally: a folder named src[1] is the sources, not a wildcard' -Skip:$IsWindows {
        $folder = Join-Path ([IO.Path]::GetTempPath()) "obb-literal-$([Guid]::NewGuid().ToString('n').Substring(0, 8))"
        New-Item -ItemType Directory "$folder/src[1]" | Out-Null
        $h = Connect-MetalHost -Local
        try {
            $err = $null
            $h | Invoke-OpenBsdBuild -Image /nonexistent.qcow2 -KeyFile $PSCommandPath -LiteralPath "$folder/src[1]" -Command make -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue
            $err | Should -BeNullOrEmpty
            $thrown = { $h | Invoke-OpenBsdBuild -Image /nonexistent.qcow2 -KeyFile $PSCommandPath -LiteralPath "$folder/src[2]" -Command make -WhatIf } |
                Should -Throw -ErrorId 'OpenBsdBuild.InvalidParameter.Path,*' -PassThru
            $thrown.TargetObject | Should -Be "$folder/src[2]"
        }
        finally {
            $h | Disconnect-MetalHost
            Remove-Item -LiteralPath $folder -Recurse -Force
        }
    }
}
