using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Xunit;
using OpenBsdBuild.Errors;
using OpenBsdBuild.ImageStore;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Tests.Cloud
{
    public sealed class LocalImageCatalogTests : IDisposable
    {
        private readonly ScratchFolder _folder = new ScratchFolder();

        public void Dispose() => _folder.Dispose();

        private void Image(string name, string version, string arch, int day, long size = 100)
        {
            _folder.WriteRandomFile(name, size, seed: day);
            var metadata = TestImages.Metadata(version, arch, new DateTime(2025, 9, day, 0, 0, 0, DateTimeKind.Utc));
            metadata.Size = size;
            _folder.WriteText(name + ".json", metadata.ToJson());
        }

        [Fact]
        public async Task Lists_images_in_a_folder_newest_first_with_filters_and_problems()
        {
            Image("openbsd-7.8-arm64.qcow2", "7.8", "arm64", 1);
            Image("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 3);
            Image("openbsd-7.9-amd64.qcow2", "7.9", "amd64", 2);
            Image("wrong-size.qcow2", "7.9", "arm64", 4);
            File.AppendAllText(Path.Combine(_folder.Path, "wrong-size.qcow2"), "grown");
            _folder.WriteText("lonely.img", "x");
            _folder.WriteText("broken.qcow2", "x");
            _folder.WriteText("broken.qcow2.json", "{");
            _folder.WriteText("notes.txt", "not an image");
            _folder.WriteText("settings.json", "{}");

            var all = await LocalImageCatalog.ListAsync(_folder.Path);

            Assert.Equal(new[] { "openbsd-7.9-arm64", "openbsd-7.9-amd64", "openbsd-7.8-arm64" }, all.Images.Select(i => i.Name));
            Assert.Equal(Path.Combine(_folder.Path, "openbsd-7.9-arm64.qcow2"), all.Images[0].Location);
            Assert.Null(all.Images[0].S3Location);
            Assert.Equal(
                new[] { "ImageMetadataInvalid", "ImageMetadataMissing", "ImageSizeMismatch" },
                all.Problems.Select(p => p.ErrorId).OrderBy(id => id));
            Assert.Contains(all.Problems, p => p.ErrorId == "ImageMetadataMissing" && p.Message.Contains("lonely.img"));

            var arm79 = await LocalImageCatalog.ListAsync(_folder.Path, "7.9", "arm64");
            Assert.Equal("openbsd-7.9-arm64", Assert.Single(arm79.Images).Name);
        }

        [Fact]
        public async Task An_image_linked_into_the_folder_counts_as_the_file_it_points_at()
        {
            using var elsewhere = new ScratchFolder();
            elsewhere.WriteRandomFile("disk.qcow2", 4096, seed: 1);
            File.CreateSymbolicLink(Path.Combine(_folder.Path, "openbsd-7.8-arm64.qcow2"), Path.Combine(elsewhere.Path, "disk.qcow2"));
            var metadata = TestImages.Metadata("7.8", "arm64", new DateTime(2025, 9, 1, 0, 0, 0, DateTimeKind.Utc));
            metadata.Size = 4096;
            _folder.WriteText("openbsd-7.8-arm64.qcow2.json", metadata.ToJson());

            var all = await LocalImageCatalog.ListAsync(_folder.Path);
            var one = await LocalImageCatalog.GetAsync(Path.Combine(_folder.Path, "openbsd-7.8-arm64.qcow2"));

            Assert.Empty(all.Problems);
            Assert.Equal(4096, Assert.Single(all.Images).StoredSize);
            Assert.Equal(4096, one.StoredSize);
        }

        [Fact]
        public async Task Gets_one_image_and_says_what_is_missing()
        {
            Image("openbsd-7.9-arm64.qcow2", "7.9", "arm64", 3);
            _folder.WriteText("lonely.qcow2", "x");

            var image = await LocalImageCatalog.GetAsync(Path.Combine(_folder.Path, "openbsd-7.9-arm64.qcow2"));
            Assert.Equal("7.9", image.Version);
            Assert.Equal(100, image.StoredSize);

            var lonely = await Assert.ThrowsAsync<OpenBsdBuildException>(() => LocalImageCatalog.GetAsync(Path.Combine(_folder.Path, "lonely.qcow2")));
            Assert.Equal("ImageMetadataMissing", lonely.ErrorId);
            var none = await Assert.ThrowsAsync<OpenBsdBuildException>(() => LocalImageCatalog.GetAsync(Path.Combine(_folder.Path, "none.qcow2")));
            Assert.Equal("ImageNotFound", none.ErrorId);
        }

        [Fact]
        public async Task A_missing_folder_is_object_not_found()
        {
            var error = await Assert.ThrowsAsync<OpenBsdBuildException>(() => LocalImageCatalog.ListAsync(Path.Combine(_folder.Path, "nope")));
            Assert.Equal("ImageFolderNotFound", error.ErrorId);
            Assert.Equal(FailureKind.ObjectNotFound, error.Kind);
        }
    }
}
