using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using System.Diagnostics;
using Renci.SshNet;

// Reads N MB of stdout from an exec channel once per cipher, to nothing, and prints the wall time and this
// process's CPU time per 100 MB: with the far end a native sshd, the client's own decryption is what varies.
// Usage: ClientCiphers <host> <port> <user> <key> <megabytes> <rounds>
string host = args[0], user = args[2], key = args[3];
int port = int.Parse(args[1]), mb = int.Parse(args[4]), rounds = int.Parse(args[5]);
var combos = new (string Cipher, string? Mac)[]
{
    ("chacha20-poly1305@openssh.com", null),
    ("aes128-gcm@openssh.com", null),
    ("aes256-gcm@openssh.com", null),
    ("aes128-ctr", "hmac-sha2-256-etm@openssh.com"),
    ("aes128-ctr", "hmac-sha2-256"),
    ("aes256-ctr", "hmac-sha2-256-etm@openssh.com"),
};
string asset = typeof(SshClient).Assembly.GetCustomAttributes(typeof(System.Runtime.Versioning.TargetFrameworkAttribute), false)
    .Cast<System.Runtime.Versioning.TargetFrameworkAttribute>().FirstOrDefault()?.FrameworkName ?? "?";
Console.WriteLine($"SSH.NET {typeof(SshClient).Assembly.GetName().Version} built for {asset}, {mb} MB per round, {rounds} rounds");
Console.WriteLine("| cipher | MAC | client CPU s per 100 MB (median) | wall MB/s (median) |");
Console.WriteLine("|---|---|---|---|");
var buffer = new byte[1 << 20];
foreach (var (cipher, mac) in combos)
{
    var cpu = new List<double>();
    var wall = new List<double>();
    for (int r = 0; r < rounds; r++)
    {
        var info = new ConnectionInfo(host, port, user, new PrivateKeyAuthenticationMethod(user, new PrivateKeyFile(key)));
        foreach (string k in info.Encryptions.Keys.ToList()) if (k != cipher) info.Encryptions.Remove(k);
        if (mac != null) foreach (string k in info.HmacAlgorithms.Keys.ToList()) if (k != mac) info.HmacAlgorithms.Remove(k);
        using var client = new SshClient(info);
        client.Connect();
        using var cmd = client.CreateCommand($"head -c {(long)mb << 20} /dev/zero");
        var self = Process.GetCurrentProcess();
        TimeSpan cpu0 = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        Task run = cmd.ExecuteAsync();
        long total = 0;
        int n;
        while ((n = cmd.OutputStream.Read(buffer, 0, buffer.Length)) > 0) total += n;
        run.Wait();
        sw.Stop();
        self.Refresh();
        if (total != (long)mb << 20) throw new Exception($"{cipher}: got {total} bytes");
        cpu.Add((self.TotalProcessorTime - cpu0).TotalSeconds * 100 / mb);
        wall.Add(mb / sw.Elapsed.TotalSeconds);
    }
    Console.WriteLine($"| {cipher} | {mac ?? "(AEAD)"} | {Median(cpu):0.00} | {Median(wall):0} |");
}

static double Median(List<double> xs) { var s = xs.OrderBy(x => x).ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
