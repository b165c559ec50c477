using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;
using System.Runtime.InteropServices;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// Keeps the module's dependencies (AWSSDK, SSH.NET, BouncyCastle, ...) from clashing with other
    /// versions that modules such as AWS.Tools or Posh-SSH already loaded. The engine and everything it
    /// needs ship in dependencies/, away from the probing paths; this layer (OpenBsdBuild.dll) references
    /// only engine types, so the first engine type it touches pulls the engine in through the handlers
    /// registered here.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        internal const string EngineAssembly = "OpenBsdBuild.Engine";
        /// <summary>The pipeline's object types: next to this assembly, in the default context, so scripts can name them.</summary>
        internal const string ModelAssembly = "OpenBsdBuild.Model";

        private static readonly object Gate = new object();
        private static bool _registered;

        private static string ModuleDirectory { get; } = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? ".";

        internal static string DependencyDirectory { get; } = Path.Combine(ModuleDirectory, "dependencies");

        internal static string ModelAssemblyPath { get; } = Path.Combine(ModuleDirectory, ModelAssembly + ".dll");

        public void OnImport()
        {
            lock (Gate)
            {
                if (_registered) return;
                _registered = true;
                if (IsNetFramework) AppDomain.CurrentDomain.AssemblyResolve += ResolveOnNetFramework;
                else RegisterLoadContext();
            }
        }

        public void OnRemove(PSModuleInfo module)
        {
            lock (Gate)
            {
                if (!_registered) return;
                _registered = false;
                if (IsNetFramework) AppDomain.CurrentDomain.AssemblyResolve -= ResolveOnNetFramework;
                else UnregisterLoadContext();
            }
        }

        private static bool IsNetFramework => RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal);

        // Separate methods, so .NET Framework never compiles code that mentions AssemblyLoadContext.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void RegisterLoadContext()
        {
#if !NETFRAMEWORK
            DependencyLoadContext.Register(DependencyDirectory);
#endif
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void UnregisterLoadContext()
        {
#if !NETFRAMEWORK
            DependencyLoadContext.Unregister();
#endif
        }

        /// <summary>
        /// Windows PowerShell 5.1 has one load context per AppDomain. The best it allows: answer only for
        /// assemblies we ship, at exactly the version we ship, loaded from dependencies/ in the LoadFrom
        /// context. Strong-named assemblies (AWSSDK, SSH.NET, BouncyCastle) then load side by side with
        /// another module's version; the engine's own references are probed in its folder first.
        /// </summary>
        private static Assembly? ResolveOnNetFramework(object? sender, ResolveEventArgs args)
        {
            var wanted = new AssemblyName(args.Name);
            string path = wanted.Name == ModelAssembly ? ModelAssemblyPath : Path.Combine(DependencyDirectory, wanted.Name + ".dll");
            if (!File.Exists(path)) return null;
            var shipped = AssemblyName.GetAssemblyName(path);
            return wanted.Version == null || wanted.Version == shipped.Version ? Assembly.LoadFrom(path) : null;
        }
    }
}
