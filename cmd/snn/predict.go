package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/snnkit/snn/data"
	"github.com/snnkit/snn/nn"
	xdraw "golang.org/x/image/draw"
)

// mnistSide is the side of MNIST's images, which runs on MNIST pad to
// their -size.
const mnistSide = 28

// addInferenceSections records in a checkpoint what inference needs
// besides the weights: the network's architecture and the class names.
func addInferenceSections(c *nn.Checkpoint, cfg Config, m *nn.Model, names []string) {
	in := m.InputShape()
	arch, err := json.Marshal(nn.SeedNetConfig{
		Height: in.H, Width: in.W, Channels: in.C, Classes: m.OutputShape().Size(),
		Activation: cfg.Act, Dropout: cfg.AlphaDropout, BatchNorm: cfg.BatchNorm,
	})
	if err != nil {
		panic(err) // plain struct: cannot fail
	}
	c.Sections[nn.SeedNetSection] = arch
	if len(names) > 0 {
		b, err := json.Marshal(names)
		if err != nil {
			panic(err)
		}
		c.Sections[nn.ClassNamesSection] = b
	}
}

// trainedRun is a checkpoint of snn train opened for inference.
type trainedRun struct {
	path string
	cfg  Config
	net  *nn.Trained
}

// openTrained reads the checkpoint at path (a .snn file, or a run folder
// holding checkpoint.snn) and rebuilds its network. Checkpoints written
// before the nn/seednet section existed are rebuilt from the run's
// configuration, their class names from the run's categories file or
// class folders when those are still there.
func openTrained(path string) (*trainedRun, error) {
	path, c, cfg, err := readRun(path)
	if err != nil {
		return nil, err
	}
	var arch *nn.SeedNetConfig
	if _, ok := c.Sections[nn.SeedNetSection]; !ok {
		arch = &nn.SeedNetConfig{Height: cfg.Size, Width: cfg.Size, Channels: 1,
			Activation: cfg.Act, Dropout: cfg.AlphaDropout, BatchNorm: cfg.BatchNorm}
	}
	net, err := nn.ReadTrained(c, arch)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Standardize == "on" && net.Standardization == nil {
		return nil, fmt.Errorf("%s: the run standardized its inputs but the checkpoint lacks the statistics", path)
	}
	if net.ClassNames == nil {
		net.ClassNames = recordedClassNames(cfg, net.Model.OutputShape().Size())
	}
	return &trainedRun{path: path, cfg: cfg, net: net}, nil
}

// recordedClassNames finds the class names of a run whose checkpoint does
// not hold them: its Places365 categories file or its class folders, if
// they are still where the run found them; nil otherwise.
func recordedClassNames(cfg Config, classes int) []string {
	var names []string
	switch {
	case cfg.PlacesCategories != "":
		f, err := os.Open(cfg.PlacesCategories)
		if err != nil {
			return nil
		}
		defer f.Close()
		byIndex := map[int]string{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) != 2 {
				continue
			}
			k, err := strconv.Atoi(fields[1])
			if err != nil || k < 0 || k >= classes {
				return nil
			}
			byIndex[k] = fields[0]
		}
		for k := range len(byIndex) {
			n, ok := byIndex[k]
			if !ok {
				return nil
			}
			names = append(names, n)
		}
	case cfg.Folder != "":
		entries, err := os.ReadDir(cfg.Folder)
		if err != nil {
			return nil
		}
		for _, e := range entries {
			if e.IsDir() {
				names = append(names, e.Name())
			}
		}
		slices.Sort(names)
	}
	if len(names) > classes {
		return nil
	}
	return names
}

// decoder turns image files into network inputs as the run's training did:
// CIE L* resized to the run's size for image-file runs, MNIST's grey
// levels (value/255) at 28x28 padded to the run's size for MNIST runs.
type decoder struct {
	size, maxPixels int
	mnist           bool
}

func newDecoder(cfg Config) decoder {
	return decoder{size: cfg.Size, maxPixels: cfg.MaxPixels, mnist: cfg.PlacesTrain == "" && cfg.Folder == ""}
}

// decode writes the image at path into dst (size*size values); scratch
// is reused between calls of one goroutine.
func (d decoder) decode(path string, dst []float32, scratch *image.RGBA) (*image.RGBA, error) {
	if !d.mnist {
		return data.DecodeLightnessFile(path, d.size, d.size, d.maxPixels, dst, scratch)
	}
	err := decodeGrey(path, d.size, d.maxPixels, dst)
	if err != nil {
		err = fmt.Errorf("%s: %w", path, err)
	}
	return scratch, err
}

// decodeGrey reads an image as MNIST's loader reads its files: grey levels
// / 255 (Go's colour-to-grey conversion for colour images), resized to
// 28x28 if it is not, centred in a size x size black frame.
func decodeGrey(path string, size, maxPixels int, dst []float32) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return err
	}
	if maxPixels <= 0 {
		maxPixels = data.DefaultMaxPixels
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPixels/cfg.Height {
		return fmt.Errorf("image is %dx%d, outside 1 to %d pixels", cfg.Width, cfg.Height, maxPixels)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	src, _, err := image.Decode(f)
	if err != nil {
		return err
	}
	rect := image.Rect(0, 0, mnistSide, mnistSide)
	g := image.NewGray(rect)
	if b := src.Bounds(); b.Dx() == mnistSide && b.Dy() == mnistSide {
		draw.Draw(g, rect, src, b.Min, draw.Src)
	} else {
		xdraw.BiLinear.Scale(g, rect, src, b, draw.Src, nil)
	}
	clear(dst)
	off := (size - mnistSide) / 2
	for y := range mnistSide {
		for x := range mnistSide {
			dst[(off+y)*size+off+x] = float32(g.Pix[y*g.Stride+x]) / 255
		}
	}
	return nil
}

// predictImageExts are the files a folder given to predict contributes.
var predictImageExts = []string{".jpg", ".jpeg", ".png"}

// expandInputs lists the files to answer: each argument that is a file,
// and the JPEG and PNG files below each folder, sorted. A missing argument
// is kept, to be answered with its error.
func expandInputs(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && slices.Contains(predictImageExts, strings.ToLower(filepath.Ext(p))) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s holds no .jpg, .jpeg or .png file", a)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, nil
}

// classScore is one of an image's top classes.
type classScore struct {
	Class       int     `json:"class"`
	Name        string  `json:"name,omitempty"`
	Probability float64 `json:"probability"`
}

// prediction is predict's answer for one file.
type prediction struct {
	File  string       `json:"file"`
	Top   []classScore `json:"top,omitempty"`
	Error string       `json:"error,omitempty"`
}

func cmdPredict(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		path      string
		top       int
		asJSON    bool
		batch     int
		threads   int
		decoders  int
		maxPixels int
	)
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.StringVar(&path, "checkpoint", "", "checkpoint file (checkpoint.snn in a run folder), or the run folder")
	fs.IntVar(&top, "top", 5, "classes to print per image, most probable first")
	fs.BoolVar(&asJSON, "json", false, "print one JSON document (file, top classes or error per image) instead of text")
	fs.IntVar(&batch, "batch", 32, "images per forward pass")
	fs.IntVar(&threads, "threads", 0, "goroutines for the kernels (0: GOMAXPROCS)")
	fs.IntVar(&decoders, "decoders", 0, "goroutines decoding images (0: GOMAXPROCS)")
	fs.IntVar(&maxPixels, "max-pixels", 0, "largest image file in pixels (0: the run's cap)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: snn predict -checkpoint FILE [flags] IMAGE|FOLDER...

The most probable classes of each image (JPEG or PNG; the .jpg, .jpeg and
.png files below a folder), decoded as the run's training data were: CIE
L* lightness resized to the run's size, or for MNIST runs grey levels
(white digits on black) at 28x28 padded to it, then the run's input
standardization. A file that cannot be read is reported and the others
are still answered; the exit status is then 1. Flags:
`)
		fs.PrintDefaults()
	}
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	switch {
	case path == "":
		fmt.Fprintln(stderr, "snn predict: -checkpoint is required")
	case fs.NArg() == 0:
		fmt.Fprintln(stderr, "snn predict: give at least one image or folder")
	case top < 1:
		fmt.Fprintf(stderr, "snn predict: -top %d: want 1 or more\n", top)
	case batch < 1 || batch > 65536:
		fmt.Fprintf(stderr, "snn predict: -batch %d: want 1 to 65536\n", batch)
	case threads < 0 || decoders < 0 || maxPixels < 0:
		fmt.Fprintln(stderr, "snn predict: -threads, -decoders and -max-pixels are non-negative")
	default:
		return predict(ctx, path, fs.Args(), predictOptions{top: top, json: asJSON, batch: batch,
			threads: threads, decoders: decoders, maxPixels: maxPixels}, stdout, stderr)
	}
	fs.Usage()
	return errUsage
}

type predictOptions struct {
	top                      int
	json                     bool
	batch, threads, decoders int
	maxPixels                int
}

func predict(ctx context.Context, path string, args []string, o predictOptions, stdout, stderr io.Writer) error {
	run, err := openTrained(path)
	if err != nil {
		return err
	}
	run.net.Model.SetThreads(o.threads)
	p, err := run.net.Predictor()
	if err != nil {
		return err
	}
	files, err := expandInputs(args)
	if err != nil {
		return err
	}
	dec := newDecoder(run.cfg)
	if o.maxPixels > 0 {
		dec.maxPixels = o.maxPixels
	}
	if in := p.InputShape(); in.C != 1 || in.H != dec.size || in.W != dec.size {
		return fmt.Errorf("%s: the network takes %v inputs, the run's images are 1x%dx%d", run.path, in, dec.size, dec.size)
	}
	workers := o.decoders
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	k := p.Classes()
	size := p.InputShape().Size()
	x := make([]float32, o.batch*size)
	probs := make([]float32, o.batch*k)
	errs := make([]error, o.batch)
	var all []prediction
	failed := 0
	for start := 0; start < len(files); start += o.batch {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := files[start:min(start+o.batch, len(files))]
		decodeAll(dec, chunk, x, errs, workers)
		// The images that decoded, packed to the front of x.
		ok := 0
		for i := range chunk {
			if errs[i] == nil {
				copy(x[ok*size:(ok+1)*size], x[i*size:(i+1)*size])
				ok++
			}
		}
		p.Predict(x[:ok*size], ok, probs[:ok*k])
		j := 0
		for i, f := range chunk {
			r := prediction{File: f}
			if errs[i] != nil {
				failed++
				r.Error = errs[i].Error()
				fmt.Fprintf(stderr, "snn predict: %v\n", errs[i])
			} else {
				r.Top = topClasses(probs[j*k:(j+1)*k], o.top, p)
				j++
			}
			if o.json {
				all = append(all, r)
			} else if r.Error == "" {
				printPrediction(stdout, r)
			}
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Checkpoint string       `json:"checkpoint"`
			Images     []prediction `json:"images"`
		}{run.path, all}); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images could not be read", failed, len(files))
	}
	return nil
}

// decodeAll decodes files[i] into image i of x on up to workers
// goroutines, recording each file's error in errs[i].
func decodeAll(dec decoder, files []string, x []float32, errs []error, workers int) {
	size := dec.size * dec.size
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(files)) {
		wg.Go(func() {
			var scratch *image.RGBA
			for i := range next {
				scratch, errs[i] = dec.decode(files[i], x[i*size:(i+1)*size], scratch)
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
}

// topClasses returns the k most probable classes of probs, ties going to
// the lower index.
func topClasses(probs []float32, k int, p *nn.Predictor) []classScore {
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return probs[idx[a]] > probs[idx[b]] })
	var out []classScore
	for _, c := range idx[:min(k, len(idx))] {
		out = append(out, classScore{Class: c, Name: p.ClassName(c), Probability: float64(probs[c])})
	}
	return out
}

func printPrediction(w io.Writer, r prediction) {
	fmt.Fprintln(w, r.File)
	for i, c := range r.Top {
		name := c.Name
		if name == "" {
			name = "class " + strconv.Itoa(c.Class)
		} else {
			name = fmt.Sprintf("%s (%d)", name, c.Class)
		}
		fmt.Fprintf(w, "  %d. %7.3f%%  %s\n", i+1, 100*c.Probability, name)
	}
}
