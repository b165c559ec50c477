using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

static class Bench
{
    public static double Median(List<double> xs)
    {
        var c = xs.OrderBy(x => x).ToList();
        return c[c.Count / 2];
    }

    /// <summary>
    /// The median of the rounds' own ratios (ours[i] / theirs[i], measured back to back in one round): a load that drifts
    /// over the run moves both sides of a round alike, so this is steadier than a ratio of two medians.
    /// </summary>
    public static (double median, string rounds) PairedRatio(List<double> ours, List<double> theirs)
    {
        var ratios = ours.Zip(theirs, (o, t) => o / t).ToList();
        return (Median(ratios), string.Join(" ", ratios.Select(r => r.ToString("0.00"))));
    }

    /// <summary>Source-like text files (~10 KB each, compresses as a real tree does); returns the total in MB.</summary>
    public static double SourceTree(string tree, int files)
    {
        var rnd = new Random(7);
        var words = Enumerable.Range(0, 4000).Select(i => "w" + rnd.Next(1_000_000).ToString("x")).ToArray();
        for (int i = 0; i < files; i++)
        {
            string dir = Path.Combine(tree, $"mod{i % 200:000}", $"sub{i % 7}");
            Directory.CreateDirectory(dir);
            var sb = new System.Text.StringBuilder();
            while (sb.Length < 10_000) sb.Append(words[rnd.Next(words.Length)]).Append(rnd.Next(8) == 0 ? ";\n" : " ");
            File.WriteAllText(Path.Combine(dir, $"file{i}.rs"), sb.ToString());
        }
        return Directory.EnumerateFiles(tree, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) / 1048576.0;
    }
}
