namespace OpenBsdBuild.Tests.Fixtures
{
    /// <summary>The engine's SSH to a <see cref="NetnsSshHost"/> (kept out of that file, which the emulator host also compiles).</summary>
    public static class NetnsSshHostTargets
    {
        /// <summary>This host for the engine's SSH: root, its key, its host key pinned.</summary>
        public static OpenBsdBuild.Remote.SshTarget Target(this NetnsSshHost host) =>
            new OpenBsdBuild.Remote.SshTarget(host.Address, 22, host.User, host.KeyFile, OpenBsdBuild.Remote.HostKeyPolicy.Pinned(new[] { host.HostKeyFingerprint }));
    }
}
