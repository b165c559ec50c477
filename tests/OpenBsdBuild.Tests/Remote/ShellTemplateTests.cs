using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using OpenBsdBuild.Scripts;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Remote
{
    /// <summary>
    /// The shell scripts the module sends are files (src/**/*.sh and *.ksh, embedded in the engine): shellcheck
    /// reads each one as it ships, each one can be run by hand, and filling their inputs can never turn
    /// a value into code.
    /// </summary>
    public sealed class ShellTemplateTests
    {
        /// <summary>Scripts that run in the OpenBSD guest, whose /bin/sh is ksh (pdksh): they must say so, for shellcheck.</summary>
        private static readonly string[] GuestScripts = { "openbsdbuild-agent.ksh", "first-boot.sh", "run-build.sh", "kill-build.sh", "make-work-dir.sh", "fetch-artifacts.sh" };

        [Fact]
        public void Every_script_in_the_source_tree_is_embedded_under_its_own_name()
        {
            var files = Directory.GetFiles(Path.Combine(Repo.Root, "src"), "*.*sh", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".sh", StringComparison.Ordinal) || f.EndsWith(".ksh", StringComparison.Ordinal))
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
                .ToList();
            Assert.Equal(files.Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal), ShellTemplate.All);
            foreach (string file in files)
                Assert.Equal(File.ReadAllText(file), ShellTemplate.Load(Path.GetFileName(file)).Text);
            Assert.Subset(ShellTemplate.All.ToHashSet(), GuestScripts.ToHashSet());
        }

        [Fact]
        public void Every_embedded_script_passes_shellcheck()
        {
            Tools.Require("shellcheck"); // never a skip: CI installs it (.ci/run)
            var findings = new List<string>();
            foreach (string name in ShellTemplate.All)
            {
                string text = ShellTemplate.Load(name).Text;
                if (GuestScripts.Contains(name))
                    Assert.True(text.Contains("\n# shellcheck shell=ksh\n") || text.StartsWith("#!/bin/ksh\n", StringComparison.Ordinal), $"{name} runs on OpenBSD, whose sh is ksh: declare # shellcheck shell=ksh");
                findings.AddRange(ShellCheck(name, text));
            }
            Assert.True(findings.Count == 0, "shellcheck:\n" + string.Join("\n", findings));
        }

        [Fact]
        public void The_repository_shell_scripts_outside_src_pass_shellcheck()
        {
            Tools.Require("shellcheck");
            var scripts = Directory.GetFiles(Path.Combine(Repo.Root, "bench"), "*.sh", SearchOption.AllDirectories)
                .Concat(new[] { ".ci/run", ".ci/test" }.Select(p => Path.Combine(Repo.Root, p)).Where(File.Exists));
            var findings = scripts.SelectMany(f => ShellCheck(Path.GetRelativePath(Repo.Root, f), File.ReadAllText(f))).ToList();
            Assert.True(findings.Count == 0, "shellcheck:\n" + string.Join("\n", findings));
        }

        /// <summary>
        /// The test fixtures' scripts too: the host-side build and smoke tests (bash), and what runs inside the test guest,
        /// whose sh is busybox ash (shellcheck reads it as dash). Where a script imitates OpenBSD's own (install.sub splits its
        /// lists on purpose), a directive in the script says which check it leaves out and why.
        /// </summary>
        [Fact]
        public void The_test_fixture_scripts_pass_shellcheck()
        {
            Tools.Require("shellcheck");
            string fixtures = Path.Combine(Repo.Root, "tests", "fixtures");
            var scripts = Directory.GetFiles(fixtures, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".sh", StringComparison.Ordinal) || ShebangNamesAShell(f))
                .ToList();
            Assert.Contains(scripts, f => f.EndsWith("install.sub", StringComparison.Ordinal)); // the walk found the guest's scripts
            string guest = Path.Combine(fixtures, "guest-image", "guest") + Path.DirectorySeparatorChar;
            var findings = scripts.SelectMany(f => ShellCheck(Path.GetRelativePath(Repo.Root, f), File.ReadAllText(f),
                f.StartsWith(guest, StringComparison.Ordinal) ? "dash" : null)).ToList();
            Assert.True(findings.Count == 0, "shellcheck:\n" + string.Join("\n", findings));
        }

        private static bool ShebangNamesAShell(string file)
        {
            using var reader = new StreamReader(file);
            string first = reader.ReadLine() ?? "";
            return first.StartsWith("#!", StringComparison.Ordinal) && first.EndsWith("sh", StringComparison.Ordinal);
        }

        [Fact]
        public void Run_by_hand_without_its_inputs_a_script_stops_before_doing_anything_and_names_the_input()
        {
            foreach (string name in ShellTemplate.All)
            {
                var template = ShellTemplate.Load(name);
                if (template.Inputs.Count == 0) continue;
                string file = Path.Combine(Path.GetTempPath(), $"obb-byhand-{Guid.NewGuid():N}-{name}");
                File.WriteAllText(file, template.Text);
                try
                {
                    var (code, stdout, stderr) = Run(template.Text.StartsWith("#!/bin/bash", StringComparison.Ordinal) ? "bash" : "sh", file, "", new Dictionary<string, string>());
                    Assert.True(code != 0, $"{name} ran without {template.Inputs[0]}");
                    Assert.Contains(template.Inputs[0], stderr);
                    Assert.Equal("", stdout);
                }
                finally { File.Delete(file); }
            }
        }

        [Fact]
        public void A_rendered_value_arrives_as_the_same_bytes_whatever_it_holds()
        {
            var template = ShellTemplate.FromText("echo-inputs.sh", "#!/bin/sh\n# comment\n: \"${A?any}\"\n: \"${B:?any}\"\nprintf '%s|%s' \"$A\" \"$B\"\n");
            string nasty = "it's $(touch /tmp/obb-pwned) `id` \"q\" \\ ; | & \n second line * ?";
            string script = template.Render(new ShellInputs().Set("A", nasty).Set("B", "plain"));
            Assert.StartsWith("A=", script); // header comments are gone: -Verbose shows the first command
            var (code, stdout, _) = Run("sh", "-c", script, new Dictionary<string, string>());
            Assert.Equal(0, code);
            Assert.Equal(nasty + "|plain", stdout);
            Assert.False(File.Exists("/tmp/obb-pwned"));
            Assert.StartsWith("#!/bin/sh\n# comment\nA=", template.RenderFile(new ShellInputs().Set("A", "").Set("B", "x")));
        }

        [Fact]
        public void Exported_variables_reach_the_command_and_cannot_replace_an_input()
        {
            var template = ShellTemplate.FromText("env.sh", ": \"${COMMAND:?}\"\n: \"${ENVIRONMENT?}\"\nsh -c \"$COMMAND\"\n");
            string script = template.Render(new ShellInputs().Set("COMMAND", "printf '%s/%s' \"$GREETING\" \"$ENVIRONMENT\"")
                .SetExports("ENVIRONMENT", new Dictionary<string, string> { ["GREETING"] = "a 'b'\nc" }));
            var (code, stdout, _) = Run("sh", "-c", script, new Dictionary<string, string>());
            Assert.Equal(0, code);
            Assert.Equal("a 'b'\nc/", stdout); // ENVIRONMENT itself (the names) is not exported
            var clash = Assert.Throws<ArgumentException>(() => template.Render(new ShellInputs().Set("COMMAND", "true")
                .SetExports("ENVIRONMENT", new Dictionary<string, string> { ["COMMAND"] = "rm -rf /" })));
            Assert.Contains("COMMAND", clash.Message);
            Assert.Throws<ArgumentException>(() => new ShellInputs().SetExports("E", new Dictionary<string, string> { ["NOT A NAME"] = "x" }));
            Assert.Throws<ArgumentException>(() => new ShellInputs().SetNames("E", new[] { "A", "B;rm" }));
        }

        [Fact]
        public void A_missing_unknown_or_empty_required_input_is_an_error_and_so_is_a_malformed_placeholder()
        {
            var template = ShellTemplate.FromText("t.sh", ": \"${NEEDED:?must not be empty}\"\n: \"${OPTIONAL?may be empty}\"\necho \"$NEEDED$OPTIONAL\"\n");
            Assert.Equal(new[] { "NEEDED", "OPTIONAL" }, template.Inputs);
            Assert.Contains("OPTIONAL", Assert.Throws<ArgumentException>(() => template.Render(new ShellInputs().Set("NEEDED", "x"))).Message);
            Assert.Contains("EXTRA", Assert.Throws<ArgumentException>(() => template.Render(new ShellInputs().Set("NEEDED", "x").Set("OPTIONAL", "").Set("EXTRA", "y"))).Message);
            Assert.Contains("non-empty", Assert.Throws<ArgumentException>(() => template.Render(new ShellInputs().Set("NEEDED", "").Set("OPTIONAL", ""))).Message);
            Assert.Equal("NEEDED=x\nOPTIONAL=''\necho \"$NEEDED$OPTIONAL\"\n", template.Render(new ShellInputs().Set("NEEDED", "x").Set("OPTIONAL", "")));
            // A near miss must not ship as an unfilled line: lower case, a quote in the text, anything after it.
            foreach (string bad in new[] { ": \"${lower?x}\"\n", ": \"${NAME?it's}\"\n", ": \"${NAME?x}\" # note\n", ": ${NAME?x}\n" })
                Assert.Throws<InvalidDataException>(() => ShellTemplate.FromText("bad.sh", bad));
            Assert.Throws<InvalidDataException>(() => ShellTemplate.FromText("twice.sh", ": \"${A?}\"\n: \"${A?}\"\n"));
            Assert.Throws<ArgumentException>(() => ShellTemplate.Load("no-such-script.sh"));
        }

        /// <param name="shell">The dialect when the script's first line does not say it (dash for busybox ash).</param>
        private static IEnumerable<string> ShellCheck(string name, string text, string? shell = null)
        {
            var (code, stdout, stderr) = RunProcess("shellcheck", new[] { "-f", "gcc", shell == null ? "" : "--shell=" + shell, "-" }, text, null);
            if (code != 0 && stdout.Length == 0) throw new InvalidOperationException($"shellcheck failed on {name}: {stderr}");
            return stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => name + l.Substring(1)); // "-:3:1: …" → "name:3:1: …"
        }

        private static (int code, string stdout, string stderr) Run(string program, string arg, string script, Dictionary<string, string> environment) =>
            RunProcess(program, new[] { arg, script }, null, environment);

        private static (int code, string stdout, string stderr) RunProcess(string program, string[] args, string? stdin, Dictionary<string, string>? environment)
        {
            var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
            foreach (string a in args.Where(a => a.Length > 0)) psi.ArgumentList.Add(a);
            if (environment != null)
            {
                psi.Environment.Clear(); // as a person would run it: nothing set but PATH and HOME
                psi.Environment["PATH"] = "/usr/bin:/bin";
                psi.Environment["HOME"] = Path.GetTempPath();
                foreach (var kv in environment) psi.Environment[kv.Key] = kv.Value;
            }
            using var p = Process.Start(psi)!;
            p.StandardInput.Write(stdin ?? "");
            p.StandardInput.Close();
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout, stderr.Result);
        }
    }
}
