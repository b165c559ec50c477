using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using OpenBsdBuild.Cloud.S3;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;
using S3Location = OpenBsdBuild.Model.S3Location;

// Publishes one file to an S3-compatible endpoint three ways in the same run and prints MB/s:
//   publish  S3ImageStore.PublishAsync (parallel multipart, part MD5 checks, sidecar)
//   put      one PutObject with UseChunkEncoding=false (the SDK hashes the whole body to sign it)
//   curl     curl -T to a presigned PUT URL (no SDK at all)
// Each object is checked by size, then deleted so the disk holds one copy at a time.

var options = Options.Parse(args);
using var client = S3ClientFactory.Create(options.Region, new BasicAWSCredentials(options.AccessKey, options.SecretKey), options.Endpoint);
var prefix = S3Location.Parse($"s3://{options.Bucket}/bench/");

string file = options.File ?? CreateFile(options.SizeMiB);
long size = new FileInfo(file).Length;
Console.WriteLine($"file {file}: {size / 1e6:F0} MB; endpoint {options.Endpoint}; part size {options.PartMiB} MiB x {options.Parallel} in flight; {options.Rounds} round(s)");

var results = new List<(string Method, int Round, double Seconds)>();
try
{
    // Warm up (JIT, connection pool) so the first method timed does not pay for it.
    string small = Path.Combine(Path.GetTempPath(), $"s3-publish-warmup-{Environment.ProcessId}.qcow2");
    File.WriteAllBytes(small, new byte[1 << 20]);
    await Publish(client, small, prefix, options);
    await Verify(client, prefix.Append(Path.GetFileName(small)), 1 << 20, alsoSidecar: true);
    await Put(client, small, prefix.Append("put.bin"));
    await Curl(client, small, prefix.Append("curl.bin"));
    File.Delete(small);

    for (int round = 1; round <= options.Rounds; round++)
    {
        results.Add(("publish", round, await Time(() => Publish(client, file, prefix, options))));
        await Verify(client, prefix.Append(Path.GetFileName(file)), size, alsoSidecar: true);
        results.Add(("put", round, await Time(() => Put(client, file, prefix.Append("put.bin")))));
        await Verify(client, prefix.Append("put.bin"), size);
        results.Add(("curl", round, await Time(() => Curl(client, file, prefix.Append("curl.bin")))));
        await Verify(client, prefix.Append("curl.bin"), size);
    }
}
finally
{
    if (options.File == null) File.Delete(file);
}

Console.WriteLine();
Console.WriteLine($"{"method",-8} {"round",5} {"seconds",8} {"MB/s",8}");
foreach (var (method, round, seconds) in results)
    Console.WriteLine($"{method,-8} {round,5} {seconds,8:F2} {size / 1e6 / seconds,8:F1}");
return 0;

static async Task Publish(IAmazonS3 client, string file, S3Location prefix, Options options)
{
    var store = new S3ImageStore(client, options.PartMiB * S3ImageStore.MiB, options.Parallel);
    var metadata = new ImageMetadata { Version = "7.9", Architecture = "arm64", Created = DateTime.UtcNow };
    var phases = new PhaseReporter();
    await store.PublishAsync(file, metadata, prefix, overwrite: true, phases, CancellationToken.None);
    phases.Print();
}

static async Task Put(IAmazonS3 client, string file, S3Location target)
{
    await client.PutObjectAsync(new PutObjectRequest
    {
        BucketName = target.Bucket,
        Key = target.Key,
        FilePath = file,
        UseChunkEncoding = false,
    });
}

static async Task Curl(IAmazonS3 client, string file, S3Location target)
{
    string url = client.GetPreSignedURL(new GetPreSignedUrlRequest
    {
        BucketName = target.Bucket,
        Key = target.Key,
        Verb = HttpVerb.PUT,
        Expires = DateTime.UtcNow.AddMinutes(30),
        Protocol = Protocol.HTTP,
    });
    var psi = new ProcessStartInfo("curl") { UseShellExecute = false, RedirectStandardError = true };
    foreach (var arg in new[] { "--silent", "--show-error", "--fail", "-o", "/dev/null", "-T", file, url }) psi.ArgumentList.Add(arg);
    using var curl = Process.Start(psi)!;
    string error = await curl.StandardError.ReadToEndAsync();
    await curl.WaitForExitAsync();
    if (curl.ExitCode != 0) throw new InvalidOperationException($"curl failed ({curl.ExitCode}): {error}");
}

static async Task Verify(IAmazonS3 client, S3Location target, long size, bool alsoSidecar = false)
{
    var head = await client.GetObjectMetadataAsync(target.Bucket, target.Key);
    if (head.ContentLength != size)
        throw new InvalidOperationException($"{target} holds {head.ContentLength} bytes, expected {size}: the upload was corrupted.");
    await client.DeleteObjectAsync(target.Bucket, target.Key);
    if (alsoSidecar) await client.DeleteObjectAsync(target.Bucket, target.Key + ImageMetadata.SidecarSuffix);
}

static async Task<double> Time(Func<Task> action)
{
    var clock = Stopwatch.StartNew();
    await action();
    return clock.Elapsed.TotalSeconds;
}

static string CreateFile(int sizeMiB)
{
    string path = Path.Combine(Path.GetTempPath(), $"s3-publish-bench-{Environment.ProcessId}.qcow2");
    var random = new Random(1);
    var buffer = new byte[1 << 20];
    using var stream = File.Create(path);
    for (int i = 0; i < sizeMiB; i++)
    {
        random.NextBytes(buffer);
        stream.Write(buffer);
    }
    return path;
}

/// <summary>Notes when the publish moves from parts to assembling (CompleteMultipartUpload) to the sidecar.</summary>
internal sealed class PhaseReporter : IOperationReporter
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly List<(string Phase, double At)> _phases = new List<(string, double)>();

    public void Progress(string activity, string status, int percent = -1, int id = 0)
    {
        string phase = status.StartsWith("Assembling") ? "parts uploaded" : status.StartsWith("Writing") ? "assembled+checked" : "";
        if (phase.Length > 0) lock (_phases) _phases.Add((phase, _clock.Elapsed.TotalSeconds));
    }

    public void ProgressDone(string activity, int id = 0)
    {
        lock (_phases) _phases.Add(("done", _clock.Elapsed.TotalSeconds));
    }

    public void Verbose(string message) { }
    public void Warning(string message) => Console.Error.WriteLine("warning: " + message);
    public void Information(string message, params string[] tags) { }

    public void Print()
    {
        lock (_phases) Console.WriteLine("  publish phases: " + string.Join(", ", _phases.ConvertAll(p => $"{p.Phase} at {p.At:F2} s")));
    }
}

internal sealed class Options
{
    public Uri Endpoint { get; private set; } = new Uri("http://127.0.0.1:4569");
    public string Bucket { get; private set; } = "images";
    public string Region { get; private set; } = "us-east-1";
    public string AccessKey { get; private set; } = "S3RVER";
    public string SecretKey { get; private set; } = "S3RVER";
    public string? File { get; private set; }
    public int SizeMiB { get; private set; } = 1024;
    public int PartMiB { get; private set; } = (int)(S3ImageStore.DefaultPartSize / S3ImageStore.MiB);
    public int Parallel { get; private set; } = S3ImageStore.DefaultPartsInFlight;
    public int Rounds { get; private set; } = 1;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--endpoint": o.Endpoint = new Uri(value); break;
                case "--bucket": o.Bucket = value; break;
                case "--file": o.File = value; break;
                case "--size-mb": o.SizeMiB = int.Parse(value); break;
                case "--part-mb": o.PartMiB = int.Parse(value); break;
                case "--parallel": o.Parallel = int.Parse(value); break;
                case "--rounds": o.Rounds = int.Parse(value); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
            i++;
        }
        return o;
    }
}
