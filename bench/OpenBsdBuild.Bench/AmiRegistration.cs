using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using OpenBsdBuild.Emulation;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Tests.Fixtures;
using OpenBsdBuild.Tests.Harness;

/// <summary>
/// Register-OpenBsdAmi's own overhead: its wall time minus what it cannot avoid, measured in the same
/// round with plain parts — qemu-img convert by hand, the same raw file uploaded by the same multipart
/// upload, and the emulated import's fixed delay. Also how late the finished import is noticed (the emulator's
/// request log: the first DescribeImportSnapshotTasks after the task completed, against the moment it did).
/// </summary>
static class AmiRegistration
{
    public static async Task RunAsync(int rounds, int megabytes, TimeSpan importDelay)
    {
        using var s3rver = new S3rverFixture();
        await using var emulator = await Ec2Emulator.StartAsync(new Ec2EmulatorOptions { ObjectStore = s3rver.Endpoint, ImportDelay = importDelay });
        string work = Directory.CreateTempSubdirectory("obb-bench-ami-").FullName;
        try
        {
            string raw = Path.Combine(work, "disk.raw");
            var random = new Random(16);
            var buffer = new byte[1 << 20];
            using (var file = File.Create(raw))
                for (int i = 0; i < megabytes; i++) { random.NextBytes(buffer); file.Write(buffer); }
            string image = Path.Combine(work, "openbsd-7.8-arm64.qcow2");
            Tools.Sh($"qemu-img convert -f raw -O qcow2 '{raw}' '{image}'");
            var metadata = new ImageMetadata
            {
                Name = "openbsd-7.8-arm64", Version = "7.8", Architecture = "arm64", Target = ImageTargets.Ec2,
                Size = new FileInfo(image).Length, Sha256 = Sha256Of(image), Created = DateTime.UtcNow,
            };
            File.WriteAllText(image + ImageMetadata.SidecarSuffix, metadata.ToJson());

            using var ps = new PsSession();
            string aws = $"-Region us-east-1 -AccessKey {S3rverFixture.AccessKey} -SecretKey {S3rverFixture.SecretKey} -EndpointUrl {emulator.Endpoint}";
            var totals = new List<double>();
            var overheads = new List<double>();
            var lags = new List<double>();
            var afters = new List<double>();
            Console.WriteLine($"image {megabytes} MB raw, emulated import {importDelay.TotalSeconds:0} s, poll interval 1 s (default)");
            for (int round = 1; round <= rounds; round++)
            {
                // The unavoidable parts, by hand: convert, then the same upload code with the same part size.
                var sw = Stopwatch.StartNew();
                string manual = Path.Combine(work, "manual.raw");
                Tools.Sh($"qemu-img convert -f qcow2 -O raw '{image}' '{manual}'");
                double convert = sw.Elapsed.TotalSeconds;
                using (var client = s3rver.CreateClient())
                {
                    var store = new S3ImageStore(client);
                    var target = S3Location.Parse($"s3://{S3rverFixture.Bucket}/bench-manual/{round}.raw");
                    sw.Restart();
                    await store.UploadFileAsync(manual, target, NullReporter.Instance, default);
                    double upload = sw.Elapsed.TotalSeconds;
                    await store.DeleteAsync(target, default);
                    File.Delete(manual);

                    emulator.ResetCounters();
                    sw.Restart();
                    var r = ps.Run($"Register-OpenBsdAmi -Image '{image}' -StagingLocation s3://{S3rverFixture.Bucket}/bench-ami/ -Name bench-{round} {aws} -S3EndpointUrl {s3rver.Endpoint}");
                    double total = sw.Elapsed.TotalSeconds;
                    var end = DateTimeOffset.UtcNow;
                    if (r.HadErrors) throw new Exception(r.Describe());

                    var task = emulator.ImportTasks.Values.OrderBy(t => t.StartedAt).Last();
                    var completedAt = task.StartedAt + importDelay;
                    var seen = emulator.Requests.Where(q => q.Action == "DescribeImportSnapshotTasks" && q.Timestamp >= completedAt).Min(q => q.Timestamp);
                    double beforeImport = total - (end - task.StartedAt).TotalSeconds;
                    double lag = (seen - completedAt).TotalSeconds;
                    double after = (end - seen).TotalSeconds;
                    // What is left when the parts done by hand and the emulated import are taken away.
                    double overhead = (beforeImport - convert - upload) + lag + after;
                    totals.Add(total);
                    overheads.Add(overhead);
                    lags.Add(lag);
                    afters.Add(after);
                    Console.WriteLine($"round {round}: Register-OpenBsdAmi {total:0.00} s; until ImportSnapshot {beforeImport:0.00} s (by hand: convert {convert:0.00} s + upload {upload:0.00} s); " +
                                      $"import {importDelay.TotalSeconds:0} s, completion seen {lag:0.00} s late; register+tag+describe {after:0.00} s; own overhead {overhead:0.00} s");
                    ps.Run($"Get-OpenBsdAmi {aws} -S3EndpointUrl {s3rver.Endpoint} | Unregister-OpenBsdAmi -Confirm:$false");
                }
            }
            Console.WriteLine($"median: total {Bench.Median(totals):0.00} s, own overhead {Bench.Median(overheads):0.00} s, " +
                              $"completion seen {Bench.Median(lags):0.00} s late (max {lags.Max():0.00} s; target ≤ 2 s), after-import {Bench.Median(afters):0.00} s");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }
}
