// Package data loads the image data sets snn trains on into float32
// tensors: MNIST from IDX files (found through the Go module proxy when no
// folder is given), and Places365-style collections of JPEG and PNG files
// listed in the official text format or laid out one folder per class,
// decoded in parallel, resized and converted to greyscale as the CIE Lab
// lightness L* scaled to [0, 1].
//
// Every loader reports a bad or truncated file with an error that names
// the file.
package data
