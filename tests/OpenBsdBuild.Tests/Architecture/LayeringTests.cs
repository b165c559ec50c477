using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text.RegularExpressions;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Model;
using OpenBsdBuild.Tests.Harness;
using Xunit;

namespace OpenBsdBuild.Tests.Architecture
{
    /// <summary>
    /// The engine's namespaces form one order (docs/architecture.md, lowest first) and nothing points up it:
    /// read from the compiled engine, with the model assembly counted as the Model layer.
    /// </summary>
    public class LayeringTests
    {
        private static readonly Assembly Engine = typeof(OpenBsdBuildException).Assembly;

        private static IReadOnlyList<NamespaceEdge> EngineEdges() =>
            NamespaceGraph.Read(Engine, "OpenBsdBuild.", new Dictionary<Assembly, string> { [typeof(MetalHost).Assembly] = "Model" });

        /// <summary>The first cell of each row of the table after the "layers" marker in docs/architecture.md.</summary>
        private static IReadOnlyList<string> DocumentedOrder()
        {
            var lines = File.ReadAllLines(Path.Combine(Repo.Root, "docs", "architecture.md"));
            int start = Array.FindIndex(lines, l => l.StartsWith("<!-- layers:", StringComparison.Ordinal));
            Assert.True(start >= 0, "docs/architecture.md has no '<!-- layers:' marker before the layer table.");
            return lines.Skip(start + 1).TakeWhile(l => l.StartsWith("|", StringComparison.Ordinal))
                .Select(l => Regex.Match(l, @"^\|\s*`([A-Za-z0-9.]+)`\s*\|"))
                .Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        }

        [Fact]
        public void No_engine_namespace_uses_one_above_it_in_the_documented_order()
        {
            var order = DocumentedOrder();
            var problems = NamespaceGraph.Violations(order, EngineEdges());
            Assert.True(problems.Count == 0,
                "References up the layer order of docs/architecture.md (move the type down, or the code up):\n" + string.Join("\n", problems));
        }

        [Fact]
        public void The_documented_order_names_every_engine_namespace_once_and_no_other()
        {
            var order = DocumentedOrder();
            var inCode = Engine.GetTypes().Select(t => t.Namespace)
                .Where(n => n != null && n.StartsWith("OpenBsdBuild.", StringComparison.Ordinal))
                .Select(n => n!.Substring("OpenBsdBuild.".Length)).Append("Model").Distinct().OrderBy(n => n).ToList();
            Assert.Equal(order.Count, order.Distinct().Count());
            Assert.Equal(inCode, order.OrderBy(n => n).ToList());
        }

        [Fact]
        public void The_engine_has_no_namespace_cycle()
        {
            Assert.Empty(NamespaceGraph.Cycles(EngineEdges()));
        }

        [Fact]
        public void The_reader_sees_references_only_method_bodies_make()
        {
            // Remote uses Model in signatures (MetalHost); Builds uses Guest only inside an async method's state machine
            // (BuildRunner calls GuestControl.SerialTailAsync), which a reader of signatures alone would miss.
            var edges = EngineEdges();
            Assert.Contains(edges, e => e.From == "Remote" && e.To == "Model");
            Assert.Contains(edges, e => e.From == "Builds" && e.To == "Guest" && e.What.EndsWith(".GuestControl", StringComparison.Ordinal));
        }

        [Fact]
        public void A_reference_up_the_order_and_a_cycle_are_found_in_a_small_graph()
        {
            var order = new[] { "Errors", "Remote", "Guest" };
            var edges = new[]
            {
                new NamespaceEdge("Remote", "Errors", "Remote.Shell", "Errors.Failure"),
                new NamespaceEdge("Guest", "Remote", "Guest.Launcher", "Remote.Shell"),
                new NamespaceEdge("Remote", "Guest", "Remote.Download", "Guest.Record"),
            };
            var problems = NamespaceGraph.Violations(order, edges);
            Assert.Equal(new[] { "upward: Remote -> Guest: Remote.Download uses Guest.Record" }, problems);
            Assert.Equal(new[] { "Guest", "Remote" }, Assert.Single(NamespaceGraph.Cycles(edges)));

            Assert.Empty(NamespaceGraph.Violations(order, edges.Take(2)));
            Assert.Empty(NamespaceGraph.Cycles(edges.Take(2)));
            Assert.Equal(new[] { "Cloud is not in the documented order (Cloud.X)" },
                NamespaceGraph.Violations(order, new[] { new NamespaceEdge("Cloud", "Errors", "Cloud.X", "Errors.Failure") }));
        }
    }
}
