package data

import (
	"bufio"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Files is a labelled collection of image files decoded on demand:
// Places365 in its official list format, or any folder-per-class tree.
// Images are resized to H x W and converted to greyscale lightness.
type Files struct {
	Name       string
	Root       string   // folder the paths are relative to
	Paths      []string // one per image, relative to Root
	Labels     []int32
	ClassNames []string // by label; empty when a list gives only numbers
	NumClasses int
	H, W       int
	Limits     Limits // Limits.MaxPixels applies to every Load

	scratch sync.Pool // *image.RGBA, one per concurrent decoder
}

// DefaultMaxClasses is the number of classes a list or a folder tree may
// imply when no other cap is given. Places365 has 365 classes and the
// full ImageNet about 22000; a label above the cap is taken for a typo.
const DefaultMaxClasses = 100000

// Limits bound what the readers of image collections accept, so that a
// corrupt header or a typo in a list is an error naming the file instead
// of an allocation that ends the process. A field <= 0 takes its default.
type Limits struct {
	// MaxPixels caps the pixels of one image, read from its header
	// before it is decoded (DefaultMaxPixels).
	MaxPixels int
	// MaxClasses caps the number of classes: every label must be below
	// it (DefaultMaxClasses).
	MaxClasses int
}

func (l Limits) withDefaults() Limits {
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxClasses <= 0 {
		l.MaxClasses = DefaultMaxClasses
	}
	return l
}

// Len is the number of images.
func (f *Files) Len() int { return len(f.Paths) }

// Classes is the number of classes.
func (f *Files) Classes() int { return f.NumClasses }

// Shape is the shape of one decoded image: one channel, H x W.
func (f *Files) Shape() (c, h, w int) { return 1, f.H, f.W }

// Load decodes image i into x (H*W values) and returns its label. It is
// safe for concurrent use.
func (f *Files) Load(i int, x []float32) (int32, error) {
	if i < 0 || i >= f.Len() {
		return 0, fmt.Errorf("%s: Load: index %d outside the %d images", f.Name, i, f.Len())
	}
	s, _ := f.scratch.Get().(*image.RGBA)
	s, err := DecodeLightnessFile(filepath.Join(f.Root, f.Paths[i]), f.H, f.W, f.Limits.MaxPixels, x, s)
	f.scratch.Put(s)
	return f.Labels[i], err
}

// ReadPlacesList reads a Places365 list file (places365_train_standard.txt,
// places365_val.txt: one "relative/path.jpg label" per line) whose paths
// are relative to root. categories, if not empty, is the official
// categories_places365.txt ("/a/abbey 0" per line, the indices 0 to n-1
// each once), which names the classes and fixes their number: every label
// must then be below it. Without it the classes are those the labels
// imply, up to lim.MaxClasses. Images will be decoded at h x w.
func ReadPlacesList(list, root, categories string, h, w int, lim Limits) (*Files, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("image size %dx%d must be positive", h, w)
	}
	lim = lim.withDefaults()
	f := &Files{Name: filepath.Base(list), Root: root, H: h, W: w, Limits: lim}
	classes := lim.MaxClasses
	if categories != "" {
		names, err := readCategories(categories, lim.MaxClasses)
		if err != nil {
			return nil, err
		}
		f.ClassNames = names
		classes = len(names)
	}
	maxLabel := -1
	err := eachLine(list, func(line string, at string) error {
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return fmt.Errorf("%s: want \"path label\", got %q", at, line)
		}
		label, err := strconv.Atoi(fields[1])
		if err != nil || label < 0 {
			return fmt.Errorf("%s: label %q is not a non-negative integer", at, fields[1])
		}
		if label >= classes {
			if categories != "" {
				return fmt.Errorf("%s: label %d, but %s has %d classes", at, label, categories, classes)
			}
			return fmt.Errorf("%s: label %d is not below the cap of %d classes", at, label, classes)
		}
		f.Paths = append(f.Paths, strings.TrimPrefix(fields[0], "/"))
		f.Labels = append(f.Labels, int32(label))
		maxLabel = max(maxLabel, label)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(f.Paths) == 0 {
		return nil, fmt.Errorf("%s lists no images", list)
	}
	f.NumClasses = maxLabel + 1
	if categories != "" {
		f.NumClasses = len(f.ClassNames)
	}
	return f, nil
}

// readCategories reads a categories file: "name index" per line, the
// indices 0 to n-1 each once, all below maxClasses.
func readCategories(path string, maxClasses int) ([]string, error) {
	var names []string
	lineOf := map[int]string{}
	err := eachLine(path, func(line string, at string) error {
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return fmt.Errorf("%s: want \"/c/class 0\", got %q", at, line)
		}
		id, err := strconv.Atoi(fields[1])
		if err != nil || id < 0 {
			return fmt.Errorf("%s: class index %q is not a non-negative integer", at, fields[1])
		}
		if id >= maxClasses {
			return fmt.Errorf("%s: class index %d is not below the cap of %d classes", at, id, maxClasses)
		}
		if prev, dup := lineOf[id]; dup {
			return fmt.Errorf("%s: class index %d again (first at %s)", at, id, prev)
		}
		lineOf[id] = at
		if id >= len(names) {
			names = append(names, make([]string, id+1-len(names))...)
		}
		names[id] = fields[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s lists no classes", path)
	}
	if len(lineOf) != len(names) {
		for id := range names {
			if _, ok := lineOf[id]; !ok {
				return nil, fmt.Errorf("%s: class index %d is missing, but %s has index %d", path, id, lineOf[len(names)-1], len(names)-1)
			}
		}
	}
	return names, nil
}

// eachLine calls fn for every non-blank line of a text file, with
// "file:line" for messages.
func eachLine(path string, fn func(line, at string) error) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := fn(line, fmt.Sprintf("%s:%d", path, n)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// imageExts are the file name extensions ReadClassFolders picks up.
var imageExts = []string{".jpg", ".jpeg", ".png"}

// ReadClassFolders indexes a folder-per-class tree: every subfolder of
// root is a class (sorted by name, label = position), and every JPEG or
// PNG file below it, at any depth, is an image of that class. A class
// folder without any such file is an error naming it, not a class skipped
// or kept empty: either would silently change what the labels mean.
func ReadClassFolders(root string, h, w int, lim Limits) (*Files, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("image size %dx%d must be positive", h, w)
	}
	lim = lim.withDefaults()
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	f := &Files{Name: filepath.Base(root), Root: root, H: h, W: w, Limits: lim}
	for _, e := range entries {
		if e.IsDir() {
			f.ClassNames = append(f.ClassNames, e.Name())
		}
	}
	slices.Sort(f.ClassNames)
	if len(f.ClassNames) == 0 {
		return nil, fmt.Errorf("%s has no class folders", root)
	}
	if len(f.ClassNames) > lim.MaxClasses {
		return nil, fmt.Errorf("%s has %d class folders, more than the cap of %d classes", root, len(f.ClassNames), lim.MaxClasses)
	}
	for label, class := range f.ClassNames {
		var paths []string
		dir := filepath.Join(root, class)
		err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !slices.Contains(imageExts, strings.ToLower(filepath.Ext(p))) {
				return nil
			}
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			paths = append(paths, rel)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("class folder %s holds no .jpg, .jpeg or .png file (every folder in %s is a class: add its images or remove it)", dir, root)
		}
		slices.Sort(paths)
		for _, p := range paths {
			f.Paths = append(f.Paths, p)
			f.Labels = append(f.Labels, int32(label))
		}
	}
	f.NumClasses = len(f.ClassNames)
	return f, nil
}
