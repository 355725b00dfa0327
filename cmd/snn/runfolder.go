package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/snnkit/snn/nn"
)

// The files of a run folder that snn train writes, besides the plots.
const (
	configName  = "config.json"
	metricsName = "metrics.csv"
	resultName  = "result.json"
)

// dataSection is the checkpoint section holding the fingerprint of the
// training data (dataFingerprint), so that a resumed run can tell whether
// its data changed.
const dataSection = "snn/data"

// prepareNewRun makes dir ready for a new run. An existing folder that
// holds anything is refused unless force is set: its files may be a run
// that -resume should continue, and silently overwriting them loses it.
// With force, the files of an earlier run that the new one would not
// overwrite at once (its checkpoint, its result) are removed, so that they
// cannot be mistaken for the new run's.
func prepareNewRun(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(entries) > 0 && !force {
		var names []string
		for _, e := range entries[:min(len(entries), 4)] {
			names = append(names, e.Name())
		}
		if len(entries) > 4 {
			names = append(names, "...")
		}
		if slices.ContainsFunc(entries, func(e os.DirEntry) bool { return e.Name() == checkpointName }) {
			return fmt.Errorf("%s already holds a run (%s): continue it with -resume %s, or choose another -out, or start over there with -force", dir, checkpointName, dir)
		}
		return fmt.Errorf("%s is not empty (%s): choose another -out, or give -force to start a new run there", dir, strings.Join(names, ", "))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if force {
		for _, name := range []string{checkpointName, resultName} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return removeStaleTemps(dir)
}

// removeStaleTemps removes the temporary files of checkpoints whose
// writing was cut short (by a kill, a crash or a full disk).
func removeStaleTemps(dir string) error {
	tmps, err := filepath.Glob(filepath.Join(dir, nn.TempPattern(checkpointName)))
	if err != nil {
		return err
	}
	for _, p := range tmps {
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

// checkFolderConfig refuses a checkpoint whose configuration is not the
// one the run folder's config.json records (a checkpoint of another run
// copied in), naming the settings that differ. Those that -resume may
// change are not compared. A folder without config.json has nothing to
// contradict the checkpoint.
func checkFolderConfig(dir string, ckpt Config) error {
	b, err := os.ReadFile(filepath.Join(dir, configName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	folder, err := unmarshalConfig(b)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, configName), err)
	}
	var a, c map[string]any
	if err := json.Unmarshal(folder.marshal(), &a); err != nil {
		return err
	}
	if err := json.Unmarshal(ckpt.marshal(), &c); err != nil {
		return err
	}
	var diff []string
	for k := range mergeKeys(a, c) {
		switch k {
		case "epochs", "max_steps", "threads", "max_pixels":
			continue
		}
		if fmt.Sprint(a[k]) != fmt.Sprint(c[k]) {
			diff = append(diff, fmt.Sprintf("%s %v in %s, %v in the checkpoint", k, a[k], configName, c[k]))
		}
	}
	if len(diff) > 0 {
		slices.Sort(diff)
		return fmt.Errorf("%s is not this folder's run: %s", filepath.Join(dir, checkpointName), strings.Join(diff, "; "))
	}
	return nil
}

func mergeKeys(a, b map[string]any) map[string]bool {
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	return keys
}

// truncateMetrics drops the rows of metrics.csv after step, the
// checkpoint a run resumes from (the resumed run writes them again), and a
// last row cut short by a kill. It rewrites the file atomically.
func truncateMetrics(path string, step int64) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1] // a row without its newline was cut short
	} else {
		b = nil
	}
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return os.Remove(path) // not even a header: openRecorder starts afresh
	}
	var kept [][]string
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		s, perr := strconv.ParseInt(row[0], 10, 64)
		if perr != nil || len(row) != len(header) {
			return fmt.Errorf("%s: a malformed row %q", path, strings.Join(row, ","))
		}
		if s <= step {
			kept = append(kept, row)
		}
	}
	var out bytes.Buffer
	cw := csv.NewWriter(&out)
	_ = cw.Write(header)
	_ = cw.WriteAll(kept)
	if bytes.Equal(out.Bytes(), b) && len(b) > 0 {
		return nil
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out.Bytes(), 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// dataFingerprint describes the training data cheaply, without reading
// it: the number of images and classes, and per source file or folder its
// name, size and modification time, plus a checksum of a list file's
// first and last KiB. A resumed run compares it with the checkpoint's to
// warn when the data changed (a changed order or content makes the
// resumed run differ from the one it continues).
func dataFingerprint(cfg Config, ds *dataSets) []byte {
	lines := []string{fmt.Sprintf("data %s: %d images, %d classes", ds.name, ds.train.Len(), ds.classes)}
	stat := func(path string, hash bool) {
		fi, err := os.Stat(path)
		if err != nil {
			lines = append(lines, fmt.Sprintf("%s: %v", path, err))
			return
		}
		l := fmt.Sprintf("%s: %d bytes, modified %s", path, fi.Size(), fi.ModTime().UTC().Format("2006-01-02T15:04:05.000000000Z"))
		if hash && fi.Mode().IsRegular() {
			l += fmt.Sprintf(", crc %08x", headTailCRC(path, fi.Size()))
		}
		lines = append(lines, l)
	}
	switch {
	case cfg.PlacesTrain != "":
		stat(cfg.PlacesTrain, true)
	case cfg.Folder != "":
		// A class folder's time changes when images are added or removed.
		stat(cfg.Folder, false)
		if entries, err := os.ReadDir(cfg.Folder); err == nil {
			for _, e := range entries {
				if e.IsDir() {
					stat(filepath.Join(cfg.Folder, e.Name()), false)
				}
			}
		}
	case cfg.Data != "":
		if entries, err := os.ReadDir(cfg.Data); err == nil {
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "train-") {
					stat(filepath.Join(cfg.Data, e.Name()), true)
				}
			}
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

func headTailCRC(path string, size int64) uint32 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	const k = 1024
	buf := make([]byte, 2*k)
	n, _ := f.ReadAt(buf[:min(int64(k), size)], 0)
	m := 0
	if size > k {
		m, _ = f.ReadAt(buf[k:k+min(k, int(size-k))], max(size-k, k))
	}
	return crc32.ChecksumIEEE(append(buf[:n:n], buf[k:k+m]...))
}

// dataChanges lists the lines of the fingerprint now that differ from the
// checkpoint's (then), for the warning of a resumed run.
func dataChanges(then, now []byte) []string {
	if then == nil || bytes.Equal(then, now) {
		return nil
	}
	a := strings.Split(string(then), "\n")
	b := strings.Split(string(now), "\n")
	var d []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			d = append(d, "was "+l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			d = append(d, "now "+l)
		}
	}
	return d
}

// lastGood describes the checkpoint a failed or stopped run leaves, for
// its one message: the file and the step it holds, or that there is none.
func lastGood(path string) (msg string, step int64, ok bool) {
	c, err := nn.ReadCheckpoint(path)
	switch {
	case err == nil:
		return fmt.Sprintf("the last good checkpoint is %s (step %d)", path, c.Step), c.Step, true
	case errors.Is(err, fs.ErrNotExist):
		return "no checkpoint was written", -1, false
	default:
		return fmt.Sprintf("%s cannot be resumed from: %v", path, err), -1, false
	}
}

// withContext makes every Load of ds fail once ctx is cancelled, so that
// the loops over a data set that know nothing of contexts (evaluation,
// the input statistics) stop at the next batch on Ctrl-C.
func withContext(ctx context.Context, ds nn.Dataset) nn.Dataset {
	if ds == nil {
		return nil
	}
	c := &ctxData{Dataset: ds, ctx: ctx}
	if pf, ok := ds.(nn.Prefetcher); ok {
		return &ctxPrefetcher{ctxData: c, pf: pf}
	}
	return c
}

type ctxData struct {
	nn.Dataset
	ctx context.Context
}

func (d *ctxData) Load(idx []int, x []float32, labels []int32) error {
	if err := d.ctx.Err(); err != nil {
		return err
	}
	return d.Dataset.Load(idx, x, labels)
}

type ctxPrefetcher struct {
	*ctxData
	pf nn.Prefetcher
}

func (d *ctxPrefetcher) Prefetch(idx []int) { d.pf.Prefetch(idx) }
