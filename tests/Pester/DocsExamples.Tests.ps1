#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0' }
# Every PowerShell block of the README and docs/*.md parses, and every call of one of our cmdlets in it names
# parameters the cmdlet has (by name, unique prefix or alias) in a combination one of its parameter sets accepts.
# What runs as printed is DocsRun.Tests.ps1 (its plan names every block: run there, run by Readme.Tests.ps1 or
# Docs.Tests.ps1, or why it cannot run here); this check is cheap and also covers the blocks that cannot run here.

BeforeDiscovery {
    $root = Split-Path -Parent (Split-Path -Parent $PSScriptRoot)
    $script:pages = @(Join-Path $root 'README.md') + @(Get-ChildItem (Join-Path $root 'docs') -Filter *.md | ForEach-Object FullName) |
        ForEach-Object { @{ Page = [IO.Path]::GetRelativePath($root, $_); Path = $_ } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestEnvironment.ps1')
    Import-Module $ModuleManifest -Force

    function Get-OurCall {
        <# Each call of one of our cmdlets in a code block: the cmdlet, the parameter names as written, and the line. #>
        param([string] $Code)
        $tokens = $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Code, [ref] $tokens, [ref] $errors)
        if ($errors) { throw "does not parse: $($errors[0].Message) at line $($errors[0].Extent.StartLineNumber)" }
        $ours = (Get-Module OpenBsdBuild).ExportedCmdlets.Keys
        $ast.FindAll({ $args[0] -is [System.Management.Automation.Language.CommandAst] }, $true) |
            Where-Object { $_.GetCommandName() -in $ours } | ForEach-Object {
                [pscustomobject]@{
                    Cmdlet = $_.GetCommandName()
                    Parameters = @($_.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] } | ForEach-Object ParameterName)
                    Positional = @($_.CommandElements | Select-Object -Skip 1 | Where-Object { $_ -isnot [System.Management.Automation.Language.CommandParameterAst] }).Count
                    Text = $_.Extent.Text
                }
            }
    }

    function Resolve-OurParameter {
        <# The parameter a written name binds to, as PowerShell binds it: exact name or alias, else a unique prefix. #>
        param([System.Management.Automation.CommandInfo] $Command, [string] $Name)
        $all = $Command.Parameters.Values
        $exact = $all | Where-Object { $_.Name -eq $Name -or $_.Aliases -contains $Name }
        if ($exact) { return @($exact)[0] }
        $prefix = @($all | Where-Object { $_.Name -like "$Name*" })
        if ($prefix.Count -eq 1) { return $prefix[0] }
        $null
    }
}

Describe '<Page>' -ForEach $pages {
    It 'has examples whose calls of our cmdlets name parameters those cmdlets have, in a set they accept' {
        $problems = foreach ($block in Get-MarkdownCodeBlock $Path -Language powershell) {
            foreach ($call in Get-OurCall $block.Code) {
                $command = Get-Command $call.Cmdlet
                $bound = foreach ($name in $call.Parameters) {
                    $parameter = Resolve-OurParameter $command $name
                    if (-not $parameter) { "$($call.Cmdlet) has no parameter -$name (in: $($call.Text))"; continue }
                    $parameter
                }
                $unknown = @($bound | Where-Object { $_ -is [string] })
                if ($unknown) { $unknown; continue }
                $names = @($bound | ForEach-Object Name | Where-Object { $_ -notin [System.Management.Automation.Cmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.Cmdlet]::OptionalCommonParameters })
                # One parameter set must have every named parameter (or be the all-sets one).
                $sets = $command.ParameterSets | Where-Object {
                    $inSet = $_.Parameters.Name
                    @($names | Where-Object { $_ -notin $inSet }).Count -eq 0
                }
                if (-not $sets) { "$($call.Cmdlet): no parameter set takes -$($names -join ', -') together (in: $($call.Text))" }
            }
        }
        $problems | Should -BeNullOrEmpty
    }
}
