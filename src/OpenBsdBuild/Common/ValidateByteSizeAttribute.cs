using System;
using System.Management.Automation;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// A size in bytes within a range, refused with a message that says the unit: "-Memory 512" means 512 bytes, and
    /// the user meant 512MB. PowerShell's own size literals (512MB, 4GB) then just work.
    /// </summary>
    [AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
    internal sealed class ValidateByteSizeAttribute : ValidateArgumentsAttribute
    {
        private readonly long _min, _max;

        public ValidateByteSizeAttribute(long min, long max)
        {
            _min = min;
            _max = max;
        }

        protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
        {
            object value = arguments is PSObject ps ? ps.BaseObject : arguments;
            long bytes = Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
            if (bytes < _min || bytes > _max)
                throw new ValidationMetadataException(
                    $"{bytes} bytes is outside {Readable(_min)} to {Readable(_max)}. The size is in bytes: Supply an argument with a unit, e.g. 512MB or 4GB.");
        }

        private static string Readable(long bytes) => bytes >= 1L << 30 && bytes % (1L << 30) == 0 ? $"{bytes >> 30}GB" : $"{bytes >> 20}MB";
    }
}
