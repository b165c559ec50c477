using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Remote;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Scripts;

namespace OpenBsdBuild.Builds
{
    /// <summary>
    /// Sends a source tree to the guest as one tar.gz stream on an exec channel, unpacked as it
    /// arrives: no temp file on either side. See docs/transfers.md for why it is shaped this way.
    /// </summary>
    internal static class SourceUpload
    {
        public static async Task SendAsync(IHostShell shell, string guestName, BuildSpec spec, string workingDirectory,
            IOperationReporter reporter, CancellationToken cancellationToken, CompressionLevel? level = null)
        {
            var selection = SourcePackager.Select(spec.SourcePath!, spec.IncludeIgnored, spec.Exclude);
            long total = selection.Files.Sum(f => new FileInfo(Path.Combine(selection.Root, f)).Length);
            string activity = $"Sending sources to {guestName}";
            reporter.Verbose($"Sending {selection.Files.Count} files ({total / 1048576.0:0.0} MB{(selection.FromGit ? ", chosen by git" : "")}) from {selection.Root}");
            CompressionLevel chosen = level ?? SourcePackager.ChooseLevel(selection);
            reporter.Verbose($"Compression: {(chosen == CompressionLevel.NoCompression ? "none (the sources do not shrink: a plain tar stream)" : "gzip, fastest level")}");
            var stderr = new StringBuilder();
            using var upload = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            int shown = -1;
            using var archive = SourcePackager.Archive(selection, chosen, done =>
            {
                // Once per percent, not per file: every report is a record the pipeline thread renders, on the CPU the upload needs.
                int percent = total == 0 ? 100 : (int)(done * 100 / total);
                if (percent == shown) return;
                shown = percent;
                reporter.Progress(activity, $"{done / 1048576.0:0.0} of {total / 1048576.0:0.0} MB", percent);
            }, upload.Token);
            int code;
            try
            {
                code = await shell.StreamAsync($"cd {ShellQuote.Quote(workingDirectory)} && {SourcePackager.UnpackCommand(chosen)}", archive, null,
                    l => stderr.AppendLine(l), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                upload.Cancel();
                archive.Dispose();
                reporter.ProgressDone(activity);
            }
            // A local read error shows up remotely as a truncated archive; report the real cause.
            try { await archive.Packing.ConfigureAwait(false); }
            catch (OperationCanceledException) { cancellationToken.ThrowIfCancellationRequested(); }
            catch (SourceArchive.ConsumerGoneException ex) when (code == 0)
            {
                throw new OpenBsdBuildException("SourceUploadFailed", FailureKind.WriteError,
                    $"{guestName} stopped taking the sources before their end: {ex.Message}", workingDirectory,
                    "Check the connection to the guest, then try again.", ex);
            }
            catch (SourceArchive.ConsumerGoneException)
            {
                // The guest's tar failed first; its message is below.
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new OpenBsdBuildException("SourceUnreadable", FailureKind.ReadError,
                    $"Could not read the sources in {selection.Root}: {ex.Message}", selection.Root,
                    "Fix the file's permissions, or leave it out with -Exclude.", ex);
            }
            if (code != 0)
                throw new OpenBsdBuildException("SourceUploadFailed", FailureKind.WriteError,
                    $"Unpacking the sources in {guestName}:{workingDirectory} failed: {stderr.ToString().Trim()}", workingDirectory,
                    "Check free space in the guest's working directory.");
        }
    }
}
