using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Threading.Tasks;
using ICSharpCode.SharpZipLib.Tar;
using OpenBsdBuild.Builds;

/// <summary>
/// Hand-written pieces against the maintained libraries that could replace them (issue 15), in one process,
/// rounds alternating, so the machine's load hits both alike: the engine's TarWriter vs SharpZipLib's
/// TarOutputStream (20,000 source-like files, plain and through gzip Fastest as the upload packs), and the
/// engine's PipeStream vs System.IO.Pipelines (512 MB in 256 KB writes, read in 64 KB pieces).
/// </summary>
public static class LibraryChoices
{
    public static void Run(int rounds)
    {
        string tree = Directory.CreateTempSubdirectory("obb-bench-lib-").FullName;
        try
        {
            double mb = Bench.SourceTree(tree, 20_000);
            var selection = SourcePackager.Select(tree, true, Array.Empty<string>());
            foreach (bool gzip in new[] { false, true })
            {
                var ours = new List<double>();
                var lib = new List<double>();
                for (int i = 0; i < rounds; i++)
                {
                    ours.Add(Time(() => Pack(selection, gzip, library: false)));
                    lib.Add(Time(() => Pack(selection, gzip, library: true)));
                    Console.WriteLine($"tar{(gzip ? "+gzip" : "")} round {i + 1}: TarWriter {mb / ours[^1]:0} MB/s, SharpZipLib {mb / lib[^1]:0} MB/s");
                }
                Console.WriteLine($"tar{(gzip ? "+gzip" : "")} {selection.Files.Count} files ({mb:0} MB): TarWriter {mb / Bench.Median(ours):0} MB/s, SharpZipLib {mb / Bench.Median(lib):0} MB/s (medians)");
            }
        }
        finally { Directory.Delete(tree, true); }

        var pipeOurs = new List<double>();
        var pipeLib = new List<double>();
        for (int i = 0; i < rounds; i++)
        {
            pipeOurs.Add(Time(() => ThroughPipeStream(512)));
            pipeLib.Add(Time(() => ThroughPipelines(512)));
            Console.WriteLine($"pipe round {i + 1}: PipeStream {512 / pipeOurs[^1]:0} MB/s, System.IO.Pipelines {512 / pipeLib[^1]:0} MB/s");
        }
        Console.WriteLine($"pipe 512 MB: PipeStream {512 / Bench.Median(pipeOurs):0} MB/s, System.IO.Pipelines {512 / Bench.Median(pipeLib):0} MB/s (medians)");
    }

    private static double Time(Action a)
    {
        var sw = Stopwatch.StartNew();
        a();
        return sw.Elapsed.TotalSeconds;
    }

    private static void Pack(SourcePackager.Selection selection, bool gzip, bool library)
    {
        using Stream output = gzip ? new GZipStream(Stream.Null, CompressionLevel.Fastest) : new BufferedStream(Stream.Null, 256 << 10);
        if (!library)
        {
            var tar = new TarWriter(output);
            foreach (string relative in selection.Files) tar.AddFile(relative, Path.Combine(selection.Root, relative));
            tar.Finish();
            return;
        }
        using var lib = new TarOutputStream(output, System.Text.Encoding.UTF8) { IsStreamOwner = false };
        foreach (string relative in selection.Files)
        {
            string full = Path.Combine(selection.Root, relative);
            var entry = TarEntry.CreateTarEntry(relative);
            using var source = File.OpenRead(full);
            entry.Size = source.Length;
            entry.ModTime = File.GetLastWriteTimeUtc(full);
            entry.TarHeader.Mode = OperatingSystem.IsWindows() ? 0x1A4 : (int)File.GetUnixFileMode(full) & 0xFFF;
            lib.PutNextEntry(entry);
            source.CopyTo(lib, 1 << 16);
            lib.CloseEntry();
        }
    }

    private static readonly byte[] Chunk = new byte[256 << 10];

    private static void ThroughPipeStream(int megabytes)
    {
        var pipe = new PipeStream();
        var writer = Task.Factory.StartNew(() =>
        {
            for (int i = 0; i < megabytes * 4; i++) pipe.Write(Chunk, 0, Chunk.Length);
            pipe.CompleteWriting();
        }, TaskCreationOptions.LongRunning);
        Drain(pipe);
        writer.Wait();
    }

    private static void ThroughPipelines(int megabytes)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 16 << 20, resumeWriterThreshold: 8 << 20, useSynchronizationContext: false));
        var writer = Task.Factory.StartNew(() =>
        {
            using Stream w = pipe.Writer.AsStream();
            for (int i = 0; i < megabytes * 4; i++) w.Write(Chunk, 0, Chunk.Length);
        }, TaskCreationOptions.LongRunning);
        using (Stream r = pipe.Reader.AsStream()) Drain(r);
        writer.Wait();
    }

    private static void Drain(Stream s)
    {
        var buffer = new byte[64 << 10];
        while (s.Read(buffer, 0, buffer.Length) > 0) { }
    }
}
