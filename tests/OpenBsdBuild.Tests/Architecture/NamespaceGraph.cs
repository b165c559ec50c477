using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Reflection.Emit;

namespace OpenBsdBuild.Tests.Architecture
{
    /// <summary>One use of a type in another namespace: which type, in which member, named what.</summary>
    public sealed record NamespaceEdge(string From, string To, string Where, string What)
    {
        public override string ToString() => $"{From} -> {To}: {Where} uses {What}";
    }

    /// <summary>
    /// The namespace dependencies of a compiled assembly, read the way the runtime sees them: base types,
    /// interfaces, fields, signatures, locals, and every type, method and field token in the IL of every
    /// method body (lambdas, iterators and async state machines are nested types of the method's class, so they
    /// count for its namespace). Types of <paramref name="alsoCounted"/> assemblies count as the namespace
    /// that assembly is mapped to.
    /// </summary>
    public static class NamespaceGraph
    {
        private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance |
                                                BindingFlags.Static | BindingFlags.DeclaredOnly;

        private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => o.Value);

        /// <param name="assembly">The assembly whose namespaces are read.</param>
        /// <param name="prefix">Only namespaces under it count ("OpenBsdBuild."); it is cut from the names.</param>
        /// <param name="alsoCounted">Other assemblies whose types count as one namespace each (the model assembly → "Model").</param>
        public static IReadOnlyList<NamespaceEdge> Read(Assembly assembly, string prefix, IReadOnlyDictionary<Assembly, string> alsoCounted)
        {
            string? LayerOf(Type t)
            {
                if (alsoCounted.TryGetValue(t.Assembly, out string? mapped)) return mapped;
                if (t.Assembly != assembly || t.Namespace == null || !t.Namespace.StartsWith(prefix, StringComparison.Ordinal)) return null;
                return t.Namespace.Substring(prefix.Length);
            }

            var edges = new Dictionary<(string, string, string, string), NamespaceEdge>();
            foreach (Type type in assembly.GetTypes())
            {
                string? from = LayerOf(type);
                if (from == null || alsoCounted.ContainsKey(type.Assembly)) continue;
                string where = Outermost(type).FullName!;

                void Use(Type? used, string? member = null)
                {
                    foreach (Type part in Parts(used))
                    {
                        string? to = LayerOf(part);
                        if (to == null || to == from) continue;
                        string what = part.FullName ?? part.Name;
                        edges.TryAdd((from, to, where, what), new NamespaceEdge(from, to, where + (member == null ? "" : "." + member), what));
                    }
                }

                Use(type.BaseType);
                foreach (Type i in type.GetInterfaces()) Use(i);
                foreach (FieldInfo f in type.GetFields(Everything)) Use(f.FieldType, f.Name);
                foreach (PropertyInfo p in type.GetProperties(Everything)) Use(p.PropertyType, p.Name);
                foreach (EventInfo e in type.GetEvents(Everything)) Use(e.EventHandlerType, e.Name);
                foreach (MethodBase m in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
                {
                    if (m is MethodInfo mi) Use(mi.ReturnType, m.Name);
                    foreach (ParameterInfo p in m.GetParameters()) Use(p.ParameterType, m.Name);
                    foreach (Type used in BodyReferences(m)) Use(used, m.Name);
                }
            }
            return edges.Values.ToList();
        }

        /// <summary>Edges that point up <paramref name="order"/> (lowest first); a namespace not in it is reported as such.</summary>
        public static IReadOnlyList<string> Violations(IReadOnlyList<string> order, IEnumerable<NamespaceEdge> edges)
        {
            var rank = order.Select((name, i) => (name, i)).ToDictionary(x => x.name, x => x.i);
            var problems = new List<string>();
            foreach (NamespaceEdge e in edges.OrderBy(e => e.From).ThenBy(e => e.To).ThenBy(e => e.Where))
            {
                if (!rank.TryGetValue(e.From, out int from)) problems.Add($"{e.From} is not in the documented order ({e.Where})");
                else if (!rank.TryGetValue(e.To, out int to)) problems.Add($"{e.To} is not in the documented order (used by {e.Where})");
                else if (to > from) problems.Add($"upward: {e}");
            }
            return problems.Distinct().ToList();
        }

        /// <summary>Groups of namespaces that reach each other (Tarjan's strongly connected components of more than one).</summary>
        public static IReadOnlyList<IReadOnlyList<string>> Cycles(IEnumerable<NamespaceEdge> edges)
        {
            var next = edges.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).Distinct().ToList());
            var nodes = next.Keys.Concat(next.Values.SelectMany(v => v)).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToList();
            var index = new Dictionary<string, int>();
            var low = new Dictionary<string, int>();
            var stack = new Stack<string>();
            var onStack = new HashSet<string>();
            var result = new List<IReadOnlyList<string>>();

            void Visit(string v)
            {
                index[v] = low[v] = index.Count;
                stack.Push(v);
                onStack.Add(v);
                foreach (string w in next.TryGetValue(v, out var ws) ? ws : new List<string>())
                {
                    if (!index.ContainsKey(w)) { Visit(w); low[v] = Math.Min(low[v], low[w]); }
                    else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
                }
                if (low[v] != index[v]) return;
                var component = new List<string>();
                string x;
                do { x = stack.Pop(); onStack.Remove(x); component.Add(x); } while (x != v);
                if (component.Count > 1) result.Add(component.OrderBy(n => n, StringComparer.Ordinal).ToList());
            }

            foreach (string n in nodes) if (!index.ContainsKey(n)) Visit(n);
            return result;
        }

        private static Type Outermost(Type t)
        {
            while (t.DeclaringType != null) t = t.DeclaringType;
            return t;
        }

        /// <summary>A type and everything it is made of: element types, generic arguments, the generic definition.</summary>
        private static IEnumerable<Type> Parts(Type? t)
        {
            if (t == null || t.IsGenericParameter) yield break;
            if (t.HasElementType)
            {
                foreach (Type p in Parts(t.GetElementType())) yield return p;
                yield break;
            }
            yield return t.IsGenericType ? t.GetGenericTypeDefinition() : t;
            if (t.IsGenericType)
                foreach (Type a in t.GetGenericArguments())
                    foreach (Type p in Parts(a)) yield return p;
        }

        /// <summary>Types named by a method body: its locals, and the type, method and field tokens of its IL.</summary>
        private static IEnumerable<Type> BodyReferences(MethodBase method)
        {
            MethodBody? body;
            try { body = method.GetMethodBody(); }
            catch (Exception ex) when (ex is InvalidOperationException || ex is NotSupportedException) { yield break; }
            if (body == null) yield break;
            foreach (LocalVariableInfo local in body.LocalVariables) yield return local.LocalType;
            foreach (Type handler in body.ExceptionHandlingClauses
                         .Where(c => c.Flags == ExceptionHandlingClauseOptions.Clause).Select(c => c.CatchType!))
                yield return handler;

            byte[] il = body.GetILAsByteArray() ?? Array.Empty<byte>();
            Type[] typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : Type.EmptyTypes;
            Type[] methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : Type.EmptyTypes;
            System.Reflection.Module module = method.Module;
            int pos = 0;
            while (pos < il.Length)
            {
                short value = il[pos] == 0xFE ? (short)(0xFE00 | il[pos + 1]) : il[pos];
                pos += il[pos] == 0xFE ? 2 : 1;
                OpCode op = OpCodesByValue[value];
                switch (op.OperandType)
                {
                    case OperandType.InlineType:
                    case OperandType.InlineTok:
                    case OperandType.InlineMethod:
                    case OperandType.InlineField:
                        int token = BitConverter.ToInt32(il, pos);
                        foreach (Type t in TokenTypes(module, token, typeArgs, methodArgs)) yield return t;
                        pos += 4;
                        break;
                    case OperandType.InlineSwitch:
                        pos += 4 + 4 * BitConverter.ToInt32(il, pos);
                        break;
                    default:
                        pos += OperandSize(op.OperandType);
                        break;
                }
            }
        }

        private static IEnumerable<Type> TokenTypes(System.Reflection.Module module, int token, Type[] typeArgs, Type[] methodArgs)
        {
            // Unresolvable tokens would hide a reference: let the exception fail the test.
            MemberInfo member = module.ResolveMember(token, typeArgs, methodArgs)!;
            switch (member)
            {
                case Type t:
                    yield return t;
                    break;
                case FieldInfo f:
                    yield return f.DeclaringType!;
                    yield return f.FieldType;
                    break;
                case MethodBase m:
                    yield return m.DeclaringType!;
                    if (m is MethodInfo mi)
                    {
                        yield return mi.ReturnType;
                        if (mi.IsGenericMethod) foreach (Type a in mi.GetGenericArguments()) yield return a;
                    }
                    foreach (ParameterInfo p in m.GetParameters()) yield return p.ParameterType;
                    break;
            }
        }

        private static int OperandSize(OperandType type) => type switch
        {
            OperandType.InlineNone => 0,
            OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
            OperandType.InlineVar => 2,
            OperandType.InlineI8 or OperandType.InlineR => 8,
            _ => 4,
        };
    }
}
