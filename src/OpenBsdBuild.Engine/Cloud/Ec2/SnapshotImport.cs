using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.EC2;
using Amazon.EC2.Model;
using OpenBsdBuild.Errors;
using OpenBsdBuild.Reporting;
using OpenBsdBuild.Model;
using OpenBsdBuild.Timing;

namespace OpenBsdBuild.Cloud.Ec2
{
    /// <summary>
    /// One ImportSnapshot task: a raw disk in S3 becoming an EBS snapshot. Started, followed with
    /// DescribeImportSnapshotTasks (its StatusMessage and Progress become Write-Progress), and
    /// cancelled when the caller gives up, so a stopped import never leaves a snapshot behind.
    /// </summary>
    public sealed class SnapshotImport
    {
        private readonly IAmazonEC2 _ec2;

        private SnapshotImport(IAmazonEC2 ec2, string taskId, S3Location source)
        {
            _ec2 = ec2;
            TaskId = taskId;
            Source = source;
        }

        public string TaskId { get; }
        public S3Location Source { get; }

        /// <summary>How often the task is looked at: a finished import is seen at most this late (plus one round trip).</summary>
        public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(1);

        public static async Task<SnapshotImport> StartAsync(IAmazonEC2 ec2, S3Location source, string description, string roleName,
            IReadOnlyList<Tag> tags, CancellationToken cancellationToken)
        {
            try
            {
                var response = await ec2.ImportSnapshotAsync(new ImportSnapshotRequest
                {
                    Description = description,
                    RoleName = roleName,
                    DiskContainer = new SnapshotDiskContainer
                    {
                        Description = description,
                        Format = "RAW",
                        UserBucket = new UserBucket { S3Bucket = source.Bucket, S3Key = source.Key },
                    },
                    TagSpecifications = new List<TagSpecification>
                    {
                        new TagSpecification { ResourceType = ResourceType.ImportSnapshotTask, Tags = tags.ToList() },
                    },
                }, cancellationToken).ConfigureAwait(false);
                return new SnapshotImport(ec2, response.ImportTaskId, source);
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidParameter" && ex.Message.IndexOf("service role", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                throw new OpenBsdBuildException("VmImportRoleMissing", FailureKind.PermissionDenied,
                    $"EC2 cannot import the disk: {ex.Message}.", roleName,
                    $"Create the '{roleName}' service role once per account, as the VM Import/Export User Guide's \"Required service role\" says " +
                    "(trust vmie.amazonaws.com with sts:ExternalId 'vmimport'; allow s3:GetBucketLocation, s3:GetObject and s3:ListBucket on the staging bucket " +
                    "and ec2:ModifySnapshotAttribute, ec2:CopySnapshot, ec2:RegisterImage and ec2:Describe*), or name another role with -RoleName.", ex);
            }
            catch (AmazonEC2Exception ex) when (ex.ErrorCode == "InvalidParameter" && ex.Message.IndexOf("S3 object", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                throw new OpenBsdBuildException("StagedObjectUnreadable", FailureKind.PermissionDenied,
                    $"EC2 cannot read the staged disk {source}: {ex.Message}", source.ToString(),
                    "Give the vmimport role s3:GetObject on the staging bucket, and stage in a bucket of the AMI's region.", ex);
            }
        }

        /// <summary>
        /// Follows the task until it completes (returns the snapshot id) or ends deleted (throws
        /// SnapshotImportFailed with EC2's "ClientError: …" reason). Progress goes to <paramref name="reporter"/>.
        /// </summary>
        public async Task<string> WaitAsync(TimeSpan pollInterval, IOperationReporter reporter, CancellationToken cancellationToken)
        {
            string activity = $"Importing {Source.Name} as an EBS snapshot";
            var clock = Stopwatch.StartNew();
            try
            {
                using (OperationTrace.Polling())
                {
                    // No deadline of its own: EC2 imports at its pace (the emulator's fixed delay, minutes on AWS); Ctrl+C ends it.
                    return await Poll.UntilAsync(async _ =>
                        {
                            var detail = await DescribeAsync(cancellationToken).ConfigureAwait(false);
                            switch (detail.Status)
                            {
                                case "completed":
                                    reporter.Verbose($"{TaskId} completed after {clock.Elapsed.TotalSeconds:F0} s: {detail.SnapshotId}");
                                    return detail.SnapshotId;
                                case "deleted":
                                case "deleting":
                                    throw Failed(detail);
                            }
                            int percent = int.TryParse(detail.Progress, NumberStyles.Integer, CultureInfo.InvariantCulture, out int p) ? Math.Min(p, 99) : -1;
                            reporter.Progress(activity, $"{TaskId}: {detail.StatusMessage ?? detail.Status}{(percent >= 0 ? $" ({percent}%)" : "")}, {clock.Elapsed.TotalSeconds:F0} s", percent);
                            return null;
                        },
                        Backoff.Pause(pollInterval), cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                reporter.ProgressDone(activity);
            }
        }

        /// <summary>
        /// Stops the task if it still runs and returns the snapshot it made anyway (it may complete
        /// between the last look and the cancel), so the caller can delete it; null when none was made.
        /// </summary>
        public async Task<string?> CancelAsync(CancellationToken cancellationToken)
        {
            var detail = await DescribeAsync(cancellationToken).ConfigureAwait(false);
            if (detail.Status == "completed") return detail.SnapshotId;
            if (detail.Status == "active")
            {
                try
                {
                    await _ec2.CancelImportTaskAsync(new CancelImportTaskRequest { ImportTaskId = TaskId, CancelReason = "Register-OpenBsdAmi stopped" },
                        cancellationToken).ConfigureAwait(false);
                }
                catch (AmazonEC2Exception)
                {
                    // It finished in between: the second look below says how.
                }
                detail = await DescribeAsync(cancellationToken).ConfigureAwait(false);
            }
            return detail.Status == "completed" ? detail.SnapshotId : null;
        }

        private async Task<SnapshotTaskDetail> DescribeAsync(CancellationToken cancellationToken)
        {
            var response = await _ec2.DescribeImportSnapshotTasksAsync(new DescribeImportSnapshotTasksRequest { ImportTaskIds = new List<string> { TaskId } },
                cancellationToken).ConfigureAwait(false);
            var task = response.ImportSnapshotTasks?.FirstOrDefault(t => t.ImportTaskId == TaskId)
                       ?? throw new OpenBsdBuildException("SnapshotImportVanished", FailureKind.InvalidResult,
                           $"EC2 no longer knows the import task {TaskId}.", TaskId, "Run Register-OpenBsdAmi again.");
            return task.SnapshotTaskDetail;
        }

        private OpenBsdBuildException Failed(SnapshotTaskDetail detail)
        {
            string reason = string.IsNullOrEmpty(detail.StatusMessage) ? "no reason given (the task was cancelled)" : detail.StatusMessage;
            return new OpenBsdBuildException("SnapshotImportFailed", FailureKind.InvalidData,
                $"EC2 could not import {Source} as a snapshot ({TaskId}): {reason}", TaskId,
                "A ClientError is about the disk or its object: check the image with 'qemu-img check', that the staged object stays in S3 until the import ends " +
                "(no lifecycle rule on the staging prefix), and register again.");
        }
    }
}
