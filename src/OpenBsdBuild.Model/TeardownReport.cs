using System;
using OpenBsdBuild.Model;

// Namespace kept from when it lived in the engine: scripts and format views name it so.
namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>What Remove-MetalHost did for one EC2 host.</summary>
    public sealed class TeardownReport
    {
        public string InstanceId { get; internal set; } = "";
        public string? InstanceType { get; internal set; }
        public string State { get; internal set; } = "";
        public TimeSpan Duration { get; internal set; }
        public decimal? PricePerHour { get; internal set; }
        public decimal? Cost => PricePerHour.HasValue ? Math.Round(PricePerHour.Value * (decimal)Duration.TotalHours, 4) : (decimal?)null;
        public string? KeyPairDeleted { get; internal set; }
        public string? SecurityGroupDeleted { get; internal set; }
        /// <summary>A security group still held by the shutting-down instance; deleted in the background.</summary>
        public string? SecurityGroupPending { get; internal set; }
        public override string ToString() =>
            $"{InstanceId} {State} after {Units.Duration(Duration)}" + (Cost.HasValue ? $", about {Units.Usd(Cost.Value)}" : "");
    }
}
