// Package data loads the image data sets snn trains on into float32
// tensors: MNIST from IDX files, and Places365-style collections of JPEG
// and PNG files listed in the official text format or laid out one folder
// per class, decoded in parallel, resized and converted to greyscale as
// the CIE Lab lightness L* scaled to [0, 1]. It reads files and nothing
// else: fetching a data set is left to the caller (the snn command fetches
// MNIST through the Go module proxy).
//
// Every loader reports a bad or truncated file with an error that names
// the file, and no header or list is trusted with memory:
//   - IDX data is read as it arrives rather than allocated from the size
//     the header claims. A gzip file is read to its end, so its checksum
//     is verified, and bytes after the data the header promises are an
//     error.
//   - An image's size is read from its header before it is decoded: an
//     image of more than Limits.MaxPixels pixels (DefaultMaxPixels) is an
//     error naming the file and the size.
//   - A Places365 list's labels must be below the number of classes of
//     its categories file when one is given, and below Limits.MaxClasses
//     (DefaultMaxClasses) otherwise; an error names the line.
//   - A class folder holding no image is an error naming the folder. It is
//     neither skipped nor kept as an empty class: either would silently
//     change the meaning of every label after it, or make a validation
//     tree disagree with its training tree.
package data
