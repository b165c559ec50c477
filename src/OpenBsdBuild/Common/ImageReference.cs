using System;
using System.IO;
using System.Management.Automation;
using OpenBsdBuild.Model;

namespace OpenBsdBuild.Common
{
    /// <summary>
    /// What an -Image parameter was given, sorted once: an image object (New-, Get-, Publish-OpenBsdImage),
    /// an s3:// location, or a path. Each cmdlet then decides what it can use; none unwraps the argument itself.
    /// </summary>
    public sealed class ImageReference
    {
        public ImageReference(OpenBsdImage image)
        {
            Image = image ?? throw new ArgumentNullException(nameof(image));
            Text = image.Location;
        }

        /// <summary>An s3:// location or a path, as typed.</summary>
        public ImageReference(string text)
        {
            Text = (text ?? throw new ArgumentNullException(nameof(text))).Trim();
        }

        public ImageReference(FileInfo file) : this(file.FullName) { }

        /// <summary>The image object given, or null for text.</summary>
        public OpenBsdImage? Image { get; }

        /// <summary>The location: the image object's, or the text given.</summary>
        public string Text { get; }

        /// <summary>An image in S3: an image object found there, or text that begins with s3: (<see cref="S3Location.IsS3Uri"/>).</summary>
        public bool IsS3 => Image != null ? Image.S3Location != null : S3Location.IsS3Uri(Text);

        public override string ToString() => Text;
    }

    /// <summary>Turns whatever reaches an -Image parameter (image object, text, FileInfo, wrapped or not) into an <see cref="ImageReference"/>.</summary>
    public sealed class ImageReferenceTransformationAttribute : ArgumentTransformationAttribute
    {
        public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
        {
            object? value = inputData is PSObject ps ? ps.BaseObject : inputData;
            return value switch
            {
                null => null,
                ImageReference reference => reference,
                OpenBsdImage image => new ImageReference(image),
                FileInfo file => new ImageReference(file),
                // Empty text is the cmdlet's InvalidParameter error, with the fix, like any other unusable location.
                string text => new ImageReference(text),
                _ => throw new ArgumentTransformationMetadataException(
                    $"A {value.GetType().Name} is not an image. Pass an image object (Get-OpenBsdImage), an s3:// URI or the path of an image."),
            };
        }
    }
}
