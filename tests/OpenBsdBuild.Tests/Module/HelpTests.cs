using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using Xunit;
using OpenBsdBuild.Tests.Harness;

namespace OpenBsdBuild.Tests.Module
{
    /// <summary>
    /// Get-Help in the real runspace, offline, from the MAML the build compiles out of docs/:
    /// every cmdlet and every parameter (common ones aside) has help, and every cmdlet at least two examples.
    /// </summary>
    public sealed class HelpTests : IDisposable
    {
        private readonly PsSession _ps = new PsSession();

        public static IEnumerable<object[]> Cmdlets()
        {
            using var ps = new PsSession();
            return ps.Run("Get-Command -Module OpenBsdBuild").Output.Select(o => new object[] { ((CmdletInfo)o.BaseObject).Name }).ToList();
        }

        [Theory]
        [MemberData(nameof(Cmdlets))]
        public void Every_cmdlet_has_a_synopsis_a_description_two_examples_and_help_for_each_parameter(string cmdlet)
        {
            var result = _ps.Run($"Get-Help {cmdlet} -Full");
            Assert.False(result.HadErrors, result.Describe());
            PSObject help = result.Output.Single();
            string synopsis = (Get(help, "Synopsis") as string ?? "").Trim();
            // Without MAML, Get-Help makes up a synopsis from the syntax; that starts with the cmdlet's name.
            Assert.False(synopsis.Length == 0 || synopsis.StartsWith(cmdlet, StringComparison.OrdinalIgnoreCase), $"{cmdlet} has no synopsis: {synopsis}");
            Assert.NotEmpty(Texts(Get(help, "description")));

            var examples = Items(Get(help, "examples", "example"));
            Assert.True(examples.Count >= 2, $"{cmdlet} has {examples.Count} example(s); at least two are required.");
            foreach (object example in examples)
            {
                Assert.False(string.IsNullOrWhiteSpace(Get(example, "code")?.ToString()), $"{cmdlet}: an example has no code.");
                Assert.NotEmpty(Texts(Get(example, "remarks")));
            }

            var documented = Items(Get(help, "parameters", "parameter"))
                .ToDictionary(p => Get(p, "name")?.ToString() ?? "", p => p, StringComparer.OrdinalIgnoreCase);
            var info = (CmdletInfo)_ps.Run($"Get-Command {cmdlet}").Output.Single().BaseObject;
            var missing = info.Parameters.Keys.Where(p => !CommonParameters.Contains(p))
                .Where(p => !documented.TryGetValue(p, out object? doc) || Texts(Get(doc, "description")).Count == 0).ToList();
            Assert.True(missing.Count == 0, $"{cmdlet}: no help for -{string.Join(", -", missing)}");
            var stale = documented.Keys.Where(p => !info.Parameters.ContainsKey(p)).ToList();
            Assert.True(stale.Count == 0, $"{cmdlet}: help documents parameters it does not have: -{string.Join(", -", stale)}");

            Assert.NotEmpty(Items(Get(help, "inputTypes", "inputType")));
            Assert.NotEmpty(Items(Get(help, "returnValues", "returnValue")));
        }

        [Fact]
        public void Examples_view_shows_the_code_of_each_example()
        {
            var result = _ps.Run("Get-Help Stop-OpenBsdGuest -Examples");
            Assert.False(result.HadErrors, result.Describe());
            var examples = Items(Get(result.Output.Single(), "examples", "example"));
            Assert.True(examples.Count >= 2);
            Assert.All(examples, e => Assert.Contains("Stop-OpenBsdGuest", Get(e, "code")?.ToString()));
        }

        // WhatIf and Confirm are documented like any parameter (the shared docs format asks for them).
        private static readonly HashSet<string> CommonParameters = new HashSet<string>(
            System.Management.Automation.Cmdlet.CommonParameters.Concat(new[] { "ProgressAction" }), StringComparer.OrdinalIgnoreCase);

        /// <summary>Help properties are one PSObject or an array of them, depending on the count.</summary>
        private static List<object> Items(object? value) => value switch
        {
            null => new List<object>(),
            PSObject { BaseObject: object[] array } => array.Cast<object>().ToList(),
            object[] array => array.Cast<object>().ToList(),
            _ => new List<object> { value },
        };

        private static List<string> Texts(object? paragraphs) =>
            Items(paragraphs).Select(p => Get(p, "Text")?.ToString() ?? p.ToString() ?? "").Where(t => t.Trim().Length > 0).ToList();

        /// <summary>Follows a path of properties through Get-Help's PSObjects.</summary>
        private static object? Get(object? value, params string[] path)
        {
            foreach (string name in path)
                value = value == null ? null : PSObject.AsPSObject(value).Properties[name]?.Value;
            return value;
        }

        public void Dispose() => _ps.Dispose();
    }
}
