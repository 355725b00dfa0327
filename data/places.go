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

	scratch sync.Pool // *image.RGBA, one per concurrent decoder
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
	s, _ := f.scratch.Get().(*image.RGBA)
	s, err := DecodeLightnessFile(filepath.Join(f.Root, f.Paths[i]), f.H, f.W, x, s)
	f.scratch.Put(s)
	return f.Labels[i], err
}

// ReadPlacesList reads a Places365 list file (places365_train_standard.txt,
// places365_val.txt: one "relative/path.jpg label" per line) whose paths
// are relative to root. categories, if not empty, is the official
// categories_places365.txt ("/a/abbey 0" per line) for class names.
// Images will be decoded at h x w.
func ReadPlacesList(list, root, categories string, h, w int) (*Files, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("image size %dx%d must be positive", h, w)
	}
	f := &Files{Name: filepath.Base(list), Root: root, H: h, W: w}
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
		names := map[int]string{}
		err := eachLine(categories, func(line string, at string) error {
			fields := strings.Fields(line)
			if len(fields) != 2 {
				return fmt.Errorf("%s: want \"/c/class 0\", got %q", at, line)
			}
			id, err := strconv.Atoi(fields[1])
			if err != nil || id < 0 {
				return fmt.Errorf("%s: class index %q is not a non-negative integer", at, fields[1])
			}
			names[id] = fields[0]
			return nil
		})
		if err != nil {
			return nil, err
		}
		f.NumClasses = max(f.NumClasses, len(names))
		f.ClassNames = make([]string, f.NumClasses)
		for id, n := range names {
			if id >= f.NumClasses {
				return nil, fmt.Errorf("%s: class index %d but only %d classes", categories, id, f.NumClasses)
			}
			f.ClassNames[id] = n
		}
	}
	return f, nil
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
// PNG file below it, at any depth, is an image of that class.
func ReadClassFolders(root string, h, w int) (*Files, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("image size %dx%d must be positive", h, w)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	f := &Files{Name: filepath.Base(root), Root: root, H: h, W: w}
	for _, e := range entries {
		if e.IsDir() {
			f.ClassNames = append(f.ClassNames, e.Name())
		}
	}
	slices.Sort(f.ClassNames)
	if len(f.ClassNames) == 0 {
		return nil, fmt.Errorf("%s has no class folders", root)
	}
	for label, class := range f.ClassNames {
		var paths []string
		err := filepath.WalkDir(filepath.Join(root, class), func(p string, d os.DirEntry, err error) error {
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
		slices.Sort(paths)
		for _, p := range paths {
			f.Paths = append(f.Paths, p)
			f.Labels = append(f.Labels, int32(label))
		}
	}
	if len(f.Paths) == 0 {
		return nil, fmt.Errorf("%s: no .jpg, .jpeg or .png files below the class folders", root)
	}
	f.NumClasses = len(f.ClassNames)
	return f, nil
}
