using System;
using System.Globalization;

namespace OpenBsdBuild.Model
{
    /// <summary>How durations and prices read wherever the module prints them (views, messages, ToString).</summary>
    public static class Units
    {
        /// <summary>hh:mm:ss, with days in front once there are any (1.02:00:00): hh alone would drop them.</summary>
        public static string Duration(TimeSpan value)
        {
            string sign = value < TimeSpan.Zero ? "-" : "";
            value = value.Duration();
            return sign + (value.Days > 0 ? value.ToString(@"d\.hh\:mm\:ss", CultureInfo.InvariantCulture) : value.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture));
        }

        public static string Duration(TimeSpan? value) => value.HasValue ? Duration(value.Value) : "";

        /// <summary>Prices are in US dollars whatever the user's culture: "$4.08", never "4,08 €".</summary>
        public static string Usd(decimal value) => "$" + value.ToString("0.00", CultureInfo.InvariantCulture);

        public static string Usd(decimal? value) => value.HasValue ? Usd(value.Value) : "";

        /// <summary>An hourly rate: "$4.08/h".</summary>
        public static string UsdPerHour(decimal? value) => value.HasValue ? Usd(value.Value) + "/h" : "";
    }
}
