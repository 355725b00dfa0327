// Package conv is snn's 2-D convolution and max-pooling on batches of
// float32 images: the forward pass and both backward passes of a
// convolution layer, computed through gemm (on the zero-padded input in
// place where the stride is 1, by im2col / col2im otherwise), and
// max-pooling with the winners kept for the backward pass.
//
// # Layouts
//
// Every tensor is a flat []float32 in row-major NCHW order, the last index
// fastest:
//
//	x, dx   [n][InC][InH][InW]      input images and their gradient
//	y, dy   [n][OutC][OutH][OutW]   output images and their gradient
//	w, dw   [OutC][InC][KH][KW]     filters and their gradient
//	bias    [OutC]                  and dbias, its gradient
//
// so element (i, c, h, w) of x is x[((i*InC+c)*InH+h)*InW+w]. This is the
// layout of PyTorch's Conv2d weights; Keras stores its kernel as
// [KH][KW][InC][OutC] and needs a transpose. Max-pooling keeps the channel
// count: x is [n][C][InH][InW], y and argmax [n][C][OutH][OutW].
//
// Slices must have exactly the lengths above (n is an argument of every
// call); a slice of another length, a negative n, or a Geometry that
// Check rejects is reported with a message naming the argument and the
// expected size. Outputs must not overlap inputs. Outputs are overwritten,
// never accumulated into.
//
// # Using a layer
//
// Describe the layer with a Geometry (Same and Valid build the usual ones),
// make a Conv2D with New once, and call it for every batch:
//
//	g := conv.Same(32, 64, 64, 64, 3, 1) // 32 -> 64 channels, 3x3, 64x64 images
//	c, err := conv.New(g)
//	...
//	c.Forward(n, x, w, bias, y)                 // y = conv(x, w) + bias
//	c.Backward(n, x, w, dy, dx, dw, dbias)      // dx, dw, dbias from dy
//
// Backward computes whichever of dx and (dw, dbias) is not nil; BackwardData
// and BackwardWeights are the two halves. The weight gradient is the sum
// over the batch (not the mean). ForwardMoments is Forward that also
// returns each output channel's mean and variance over the batch, summed
// by the tiles while their outputs are in cache.
//
// MaxPool2D is used the same way: NewMaxPool2D(Pool(c, h, w, 2, 2)), then
// Forward(n, x, y, argmax) and Backward(n, dy, argmax, dx). The caller owns
// argmax, so one MaxPool2D serves any number of layers of its geometry.
//
// # Threads and reproducibility
//
// A call splits its batch into blocks of whole images and runs them on up
// to Threads() goroutines (reused, not started per call), each with its own
// single-threaded GEMMs; when a batch has fewer blocks than threads, the
// GEMMs get the spare threads. The order in which the blocks' weight
// gradients are summed depends only on the geometry and n, and how the
// outputs are cut between goroutines (which may depend on the thread
// count) changes no sum: results are the same bit for bit for any thread
// count and GOMAXPROCS, provided gemm's are (its contract). They may differ
// in the last bits between CPUs whose caches differ: the chunks, sized from
// the L2, decide where a column's sums are split, as gemm's depth block,
// sized from the L1, does within a chunk.
//
// # How it is computed
//
// Forward is y = W * cols(x) with cols the im2col matrix (InC*KH*KW rows,
// one column per output position) and the bias folded in as a row of ones.
// With stride 1, BackwardData is the forward pass of the transposed
// convolution (dy convolved with the filters rotated by 180 degrees and
// transposed), which needs im2col of dy rather than col2im's scattered
// additions; other strides use col2im. BackwardWeights is dy * cols(x)^T,
// computed as its transpose cols(x) * dy^T where the GEMM then reads the
// column matrix without packing it (few output channels; see
// kernels.Gemm.UnpackedA): the same sums, the same bits.
//
// A Conv2D never builds the column matrix of a whole batch: it cuts it into
// tiles of up to 2048 columns (parts of a large image, or several small
// images) and each tile into chunks of rows that fit in half a core's L2
// cache (ChunkBytes, from the caches the CPU reports at start-up), and it
// builds and multiplies one chunk at a time. im2col runs on the
// Conv kernels of package kernels (AVX-512, AVX2 or Go), 2x2 max-pooling on
// its Pool2 kernel.
//
// With stride 1 the forward pass (and so BackwardData) writes no column
// matrix at all: row (c, i, j) of it is the zero-padded input shifted by
// (i, j), so gemm.Options.SgemmRows multiplies by the padded input where it
// lies, given each row's offset. An image wide enough to fill the GEMM's
// panels with its own output rows is padded on its own; narrower ones are
// interleaved a panel's worth of images at a time (each output position a
// whole panel of images) and the outputs unpacked per image. Where the
// GEMM kernels cannot read such rows in place (no KernelRows, as on arm64)
// im2col is used instead. Both ways perform the same multiply-adds in the
// same order: the results are the same bit for bit.
//
// 3x3 layers with stride 1, one pixel of padding, even sizes of at least
// 8 and many channels take Winograd's F(2x2, 3x3) instead, in the forward
// pass (and so in BackwardData) and for the weight gradient: 16 GEMMs on
// transformed inputs, filters and output gradients, 2.25x fewer
// multiply-adds for additions that grow with the channels only. Many is
// at least 2*NR of the GEMM kernels, in and out (32 with AVX2, 64 with
// AVX-512), where the kernel set's transforms run vector code on the
// layer's rows of tiles (x86), else 4*NR (48 with NEON, 16 in the
// generic set). Those layers' results differ from the
// direct convolution's in the last bits (float32 rounding, not accuracy);
// they are still the same for every thread count.
//
// The same layers on images of 2 to 7 pixels a side take a whole-image
// Winograd pass in the forward pass (and so in BackwardData), from 2*NR
// channels in and out up to 4 pixels and 4*NR from 5: the image is one
// tile, F(h x w, 3x3), or two tiles a side of up to 4 (25 multiply-adds
// per pair of channels instead of 81 on 3 x 3 images, 121 instead of 441
// on 7 x 7), and the transforms, linear maps of whole planes, are GEMMs
// too. Its rounding is larger, about 10 times the direct pass's with
// tiles of 4 on 128 channels, and its blocks of filters transformed at
// once are sized from the L2 cache: one more reason results may differ
// between CPUs.
//
// # Memory
//
// The first call with a given batch size and thread count sizes the
// workspace; every later call of that size or smaller allocates nothing.
// MaxPool2D allocates nothing at all.
package conv
