using System;
using System.IO;

namespace OpenBsdBuild.ImageStore
{
    internal static class LocalFile
    {
        /// <summary>
        /// A file's length. A symbolic link's is its target's: FileInfo.Length is the link's own on Unix, and an image
        /// linked into ~/images must read as big as the image.
        /// </summary>
        public static long LengthOf(FileInfo file)
        {
            if ((file.Attributes & FileAttributes.ReparsePoint) == 0) return file.Length;
            try
            {
                using var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                return stream.Length;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return file.Length; }
        }
    }
}
