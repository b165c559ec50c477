#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# What users see through the real Format-Table / Format-List / Out-String: durations keep their days, prices are
# US dollars in every culture, and Cost means the same (the total so far) in every view.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    Import-Module $ModuleManifest -Force

    # A real object of the type with its (engine-set) properties set, so computed ones (Age, CostSoFar, Cost) follow:
    # New-MockObject -Properties only lays note properties over it.
    function New-ModelObject([type] $Type, [hashtable] $Properties) {
        $object = New-MockObject -Type $Type
        foreach ($p in $Properties.GetEnumerator()) {
            $property = $Type.GetProperty($p.Key)
            $property.SetValue($object, [System.Management.Automation.LanguagePrimitives]::ConvertTo($p.Value, $property.PropertyType))
        }
        $object
    }
    function New-TestHost([timespan] $Age, [decimal] $PricePerHour) {
        New-ModelObject ([OpenBsdBuild.Model.MetalHost]) @{
            State = 'Ready'; LaunchTime = [datetime]::UtcNow - $Age; PricePerHour = [Nullable[decimal]] $PricePerHour; InstanceId = 'i-0123456789abcdef0'
        }
    }
    # Formats in a fresh pwsh whose culture is $Culture, as a user in that locale would see it.
    function Format-InCulture([string] $Culture, [string] $Script) {
        $code = "[cultureinfo]::CurrentCulture = '$Culture'; Import-Module '$((Get-Module Pester).Path)'; Import-Module '$ModuleManifest'; $Script"
        & $PwshPath -NoProfile -NonInteractive -Command $code 2>&1 | Out-String
    }
}

Describe 'MetalHost views' {
    It 'shows a 26-hour-old host with its day, and Cost as the total so far' {
        $h = New-TestHost -Age (New-TimeSpan -Hours 26) -PricePerHour 4.08
        $table = $h | Format-Table | Out-String
        $table | Should -Match '1\.02:00:0\d'
        $table | Should -Match '\$106\.08'
        $list = $h | Format-List | Out-String
        $list | Should -Match 'Age\s+: 1\.02:00:0\d'
        $list | Should -Match 'Cost\s+: \$106\.08'
        $list | Should -Match 'Price\s+: \$4\.08/h'
    }

    It 'prints US dollars with a point in <_>' -ForEach 'de-DE', 'ja-JP', 'fr-FR' {
        $out = Format-InCulture $_ @'
$h = New-MockObject -Type ([OpenBsdBuild.Model.MetalHost])
[OpenBsdBuild.Model.MetalHost].GetProperty('LaunchTime').SetValue($h, [datetime]::UtcNow.AddHours(-1))
[OpenBsdBuild.Model.MetalHost].GetProperty('PricePerHour').SetValue($h, [Nullable[decimal]] 4.08)
$h | Format-List | Out-String
'@
        # New-MockObject comes from Pester, which the fresh process imports first.
        $out | Should -Match 'Price\s+: \$4\.08/h' -Because $out
        $out | Should -Not -Match '€|￥|¥|4,08'
    }
}

Describe 'TeardownReport view' {
    It 'shows a 25.5-hour host with its day and its cost in dollars' {
        $report = New-ModelObject ([OpenBsdBuild.Cloud.Ec2.TeardownReport]) @{
            InstanceId = 'i-0123456789abcdef0'; InstanceType = 'a1.metal'; State = 'terminated'
            Duration = (New-TimeSpan -Hours 25 -Minutes 30); PricePerHour = [Nullable[decimal]] 0.408
        }
        $table = $report | Format-Table | Out-String
        $table | Should -Match '1\.01:30:00'
        $table | Should -Match '\$10\.40'
        $report.ToString() | Should -Be 'i-0123456789abcdef0 terminated after 1.01:30:00, about $10.40'
    }
}

Describe 'GuestBuildResult view' {
    It 'keeps the days of a long build in table and list' {
        $result = New-ModelObject ([OpenBsdBuild.Model.GuestBuildResult]) @{
            Command = 'make build'; Succeeded = $true; ExitCode = 0; Duration = (New-TimeSpan -Days 2 -Hours 3)
        }
        $result | Format-Table | Out-String | Should -Match '2\.03:00:00'
        $result | Format-List | Out-String | Should -Match 'Duration\s+: 2\.03:00:00'
    }
}
