#if !NETFRAMEWORK
using System;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// PowerShell 7: the engine and its dependencies live in this load context, so another module's
    /// AWSSDK.Core or SSH.NET in the default context is never seen by the engine, and ours never by them.
    /// Framework assemblies still come from the runtime: the netstandard2.0 copies of System.Memory and
    /// friends in dependencies/ are for Windows PowerShell only.
    /// </summary>
    internal sealed class DependencyLoadContext : AssemblyLoadContext
    {
        private static DependencyLoadContext? _instance;
        private readonly string _directory;
        private readonly string _frameworkDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location) ?? "";

        private DependencyLoadContext(string directory) => _directory = directory;

        public static void Register(string directory)
        {
            _instance ??= new DependencyLoadContext(directory);
            Default.Resolving += ResolveEngine;
        }

        public static void Unregister() => Default.Resolving -= ResolveEngine;

        /// <summary>
        /// The default context asks only for what it cannot find itself: the engine (not on any probing path) goes
        /// to this context; the model types (the manifest's RequiredAssemblies already loaded them) stay in the
        /// default one, so scripts and the engine see the same MetalHost type.
        /// </summary>
        private static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name) => name.Name switch
        {
            ModuleInitializer.EngineAssembly => _instance?.LoadShipped(name),
            ModuleInitializer.ModelAssembly => Default.LoadFromAssemblyPath(ModuleInitializer.ModelAssemblyPath),
            _ => null,
        };

        /// <summary>Framework assemblies and the model types come from the default context; the rest from dependencies/.</summary>
        protected override Assembly? Load(AssemblyName name) =>
            name.Name == ModuleInitializer.ModelAssembly || File.Exists(Path.Combine(_frameworkDirectory, name.Name + ".dll")) ? null : LoadShipped(name);

        /// <summary>Only what dependencies/ holds; anything else falls back to the default context.</summary>
        private Assembly? LoadShipped(AssemblyName name)
        {
            string path = Path.Combine(_directory, name.Name + ".dll");
            return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
        }
    }
}
#endif
