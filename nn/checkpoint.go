package nn

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Checkpoint is everything needed to continue training exactly where it
// stopped: the parameters, the optimizer's state, the trainer's position
// and random streams, and whatever the caller adds (Sections and Extra:
// the input standardization, the command line's configuration).
//
// # File format (version 1)
//
// Little-endian throughout. An 8-byte magic "SNNCKPT\x00", the version
// (uint32) and a zero uint32; then sections, each a 4-byte tag, a uint64
// payload length and the payload; then a footer: the uint64 length of
// everything before it and the CRC-32C (Castagnoli) of those bytes as a
// uint32. The sections are
//
//	"META"  JSON: step, epoch, batch, seed, the random generator's name,
//	        the optimizer's name and hyper-parameters
//	"PARM"  the parameters, then the layers' state (Model.State), as tensors
//	"OPTS"  the optimizer's state, as tensors
//	"LRSC"  the per-unit learning-rate factors (LRScales), as tensors;
//	        absent when no parameter has any
//	"XTRA"  the caller's tensors (Extra)
//	"USER"  one caller section: a name and bytes (one per entry)
//
// A tensor list is a uint32 count, then per tensor the name (uint32
// length and bytes), the rank (uint32), the dimensions (uint64 each), and
// the values (float32, as many as the dimensions' product). Readers skip
// sections whose tag they do not know, so later versions can add some.
type Checkpoint struct {
	Step, Epoch, Batch int64
	Seed               uint64
	// RNG names the random generator (a resumed run needs the same one).
	RNG string

	Params    []Tensor
	Optimizer string
	Hyper     []Hyper
	Slots     []Tensor
	// LRScales holds the Param.LRScale of every parameter that has one,
	// named as the parameter, shape [units]. They are training state:
	// DataNorm.ScaleLR builds them up step after step.
	LRScales []Tensor

	// Extra holds named float32 tensors of the caller's (the input
	// standardization statistics of snn train, for one).
	Extra []Tensor
	// Sections holds named byte strings of the caller's.
	Sections map[string][]byte
}

// ExtraTensor returns the caller tensor of the given name, or nil.
func (c *Checkpoint) ExtraTensor(name string) *Tensor {
	for i := range c.Extra {
		if c.Extra[i].Name == name {
			return &c.Extra[i]
		}
	}
	return nil
}

// CheckpointVersion is the version of the file format Save writes.
const CheckpointVersion = 1

// rngName identifies the counter-based generator of rng.go.
const rngName = "splitmix64-streams-v1"

var checkpointMagic = [8]byte{'S', 'N', 'N', 'C', 'K', 'P', 'T', 0}

const footerLen = 12

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checkpoint returns a snapshot of the trainer (copies of the parameters
// and the optimizer's state).
func (t *Trainer) Checkpoint() *Checkpoint {
	c := &Checkpoint{
		Step: t.step, Epoch: t.epoch, Batch: t.batch, Seed: t.seed, RNG: rngName,
		Optimizer: t.Optimizer.String(), Hyper: t.Optimizer.Hyper(),
	}
	for _, p := range t.Model.savedTensors() {
		c.Params = append(c.Params, Tensor{Name: p.Name, Shape: p.Shape, Data: append([]float32(nil), p.Data...)})
	}
	for _, s := range t.Optimizer.Slots() {
		c.Slots = append(c.Slots, Tensor{Name: s.Name, Shape: s.Shape, Data: append([]float32(nil), s.Data...)})
	}
	for _, p := range t.Model.params {
		if len(p.LRScale) != 0 {
			c.LRScales = append(c.LRScales, Tensor{Name: p.Name, Shape: []int{len(p.LRScale)}, Data: append([]float32(nil), p.LRScale...)})
		}
	}
	return c
}

// Restore sets the trainer's parameters, optimizer state, learning rate,
// per-unit learning-rate factors and position from c; a parameter c has
// no factors for gets factors 1 (an LRScale it has is filled with ones).
// The model and optimizer must be those c was taken
// from (same parameter names and shapes, same optimizer kind); otherwise
// Restore reports the first difference and changes nothing.
func (t *Trainer) Restore(c *Checkpoint) error {
	if c.RNG != rngName {
		return fmt.Errorf("nn: checkpoint uses random generator %q, this build %q", c.RNG, rngName)
	}
	if c.Optimizer != t.Optimizer.String() {
		return fmt.Errorf("nn: checkpoint of optimizer %q, trainer has %q", c.Optimizer, t.Optimizer.String())
	}
	params := t.Model.savedTensors()
	if err := matchTensors("parameters", c.Params, params); err != nil {
		return err
	}
	slots := t.Optimizer.Slots()
	if err := matchTensors("optimizer state", c.Slots, slots); err != nil {
		return err
	}
	if c.Step < 0 || c.Epoch < 0 || c.Batch < 0 {
		return fmt.Errorf("nn: checkpoint position step %d, epoch %d, batch %d is negative", c.Step, c.Epoch, c.Batch)
	}
	scales, err := t.matchScales(c.LRScales)
	if err != nil {
		return err
	}
	for i, p := range t.Model.params {
		switch s := scales[i]; {
		case s != nil && len(p.LRScale) == len(s.Data):
			copy(p.LRScale, s.Data)
		case s != nil:
			p.LRScale = append([]float32(nil), s.Data...)
		default:
			for u := range p.LRScale {
				p.LRScale[u] = 1
			}
		}
	}
	for i := range params {
		copy(params[i].Data, c.Params[i].Data)
	}
	for i := range slots {
		copy(slots[i].Data, c.Slots[i].Data)
	}
	for _, h := range c.Hyper {
		if h.Name == "learning_rate" {
			t.Optimizer.SetLearningRate(h.Value)
		}
	}
	t.step, t.epoch, t.batch, t.seed = c.Step, c.Epoch, c.Batch, c.Seed
	return nil
}

// matchScales returns, per parameter of the model, its tensor in ts (nil
// if none), or an error if a tensor names no parameter, twice the same
// one, or has not one value per unit.
func (t *Trainer) matchScales(ts []Tensor) ([]*Tensor, error) {
	byName := make(map[string]int, len(t.Model.params))
	for i, p := range t.Model.params {
		byName[p.Name] = i
	}
	out := make([]*Tensor, len(t.Model.params))
	for j := range ts {
		s := &ts[j]
		i, ok := byName[s.Name]
		switch {
		case !ok:
			return nil, fmt.Errorf("nn: checkpoint has learning-rate factors of %s, which the trainer does not have", s.Name)
		case out[i] != nil:
			return nil, fmt.Errorf("nn: checkpoint has learning-rate factors of %s twice", s.Name)
		case len(s.Shape) != 1 || s.Shape[0] != t.Model.params[i].Units() || len(s.Data) != s.Shape[0]:
			return nil, fmt.Errorf("nn: checkpoint learning-rate factors of %s have shape %v, the parameter %d units", s.Name, s.Shape, t.Model.params[i].Units())
		}
		out[i] = s
	}
	return out, nil
}

// LoadParams sets the model's parameters and state (Model.State) from
// tensors matched by name and shape (a checkpoint's Params), for evaluation or fine-tuning without the
// optimizer state. On a mismatch it reports the first difference and
// changes nothing.
func (m *Model) LoadParams(ts []Tensor) error {
	params := m.savedTensors()
	if err := matchTensors("parameters", ts, params); err != nil {
		return err
	}
	for i := range params {
		copy(params[i].Data, ts[i].Data)
	}
	return nil
}

func matchTensors(what string, got, want []Tensor) error {
	if len(got) != len(want) {
		return fmt.Errorf("nn: checkpoint has %d tensors of %s, the trainer %d", len(got), what, len(want))
	}
	for i := range want {
		g, w := &got[i], &want[i]
		if g.Name != w.Name || !sameShape(g.Shape, w.Shape) || len(g.Data) != len(w.Data) {
			return fmt.Errorf("nn: checkpoint %s %d is %s %v, the trainer's is %s %v", what, i, g.Name, g.Shape, w.Name, w.Shape)
		}
	}
	return nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Save writes a checkpoint of the trainer to path atomically; add, if not
// nil, adds the caller's sections to it first. It refuses to save weights
// that hold a NaN or an infinity, so that the file at path stays the last
// good checkpoint.
func (t *Trainer) Save(path string, add func(*Checkpoint)) error {
	for _, p := range t.Model.params {
		if !finite(p.Value) {
			return fmt.Errorf("nn: checkpoint %s not written: parameter %s holds a NaN or an infinity", path, p.Name)
		}
	}
	c := t.Checkpoint()
	if add != nil {
		add(c)
	}
	return WriteCheckpoint(path, c)
}

// Load reads the checkpoint at path and restores the trainer from it; the
// checkpoint is returned for its caller sections.
func (t *Trainer) Load(path string) (*Checkpoint, error) {
	c, err := ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	if err := t.Restore(c); err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return c, nil
}

type meta struct {
	Step, Epoch, Batch int64
	Seed               uint64
	RNG                string
	Optimizer          string
	Hyper              []Hyper
}

// WriteCheckpoint writes c to path atomically: to a temporary file in the
// same directory, synced to disk, then renamed over path. A crash leaves
// either the old file or the new one, never a mix.
//
// The file gets mode 0644, not os.CreateTemp's 0600: a checkpoint holds
// weights and a configuration, no secrets, and the other files of a run
// folder (metrics, plots, config.json) are 0644 too, so that a run folder
// copied or shared is readable as a whole.
func WriteCheckpoint(path string, c *Checkpoint) (err error) {
	dir := filepath.Dir(path)
	f, err := createTemp(dir, TempPattern(path))
	if err != nil {
		return fmt.Errorf("nn: checkpoint: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	crc := crc32.New(castagnoli)
	cw := &countWriter{w: io.MultiWriter(f, crc)}
	bw := bufio.NewWriterSize(cw, 1<<20)
	if err = encode(bw, c); err != nil {
		return fmt.Errorf("nn: checkpoint %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("nn: checkpoint %s: %w", path, err)
	}
	var foot [footerLen]byte
	binary.LittleEndian.PutUint64(foot[:8], uint64(cw.n))
	binary.LittleEndian.PutUint32(foot[8:], crc.Sum32())
	if _, err = f.Write(foot[:]); err != nil {
		return fmt.Errorf("nn: checkpoint %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("nn: checkpoint %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("nn: checkpoint %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("nn: checkpoint %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("nn: checkpoint: %w", err)
	}
	// Make the rename itself durable; not every system can sync a
	// directory, and the file is complete either way.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// TempPattern is the os.CreateTemp pattern of the temporary files
// WriteCheckpoint writes next to path. A process killed while writing
// leaves one behind; a program resuming from path may remove every file
// matching filepath.Join(filepath.Dir(path), TempPattern(path)).
func TempPattern(path string) string { return "." + filepath.Base(path) + ".tmp*" }

// tempFile is the part of *os.File that WriteCheckpoint uses, so that
// tests can make writing fail as a full disk does.
type tempFile interface {
	io.Writer
	Name() string
	Chmod(os.FileMode) error
	Sync() error
	Close() error
}

var createTemp = func(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func encode(w *bufio.Writer, c *Checkpoint) error {
	var head [16]byte
	copy(head[:8], checkpointMagic[:])
	binary.LittleEndian.PutUint32(head[8:], CheckpointVersion)
	w.Write(head[:])
	mj, err := json.Marshal(meta{c.Step, c.Epoch, c.Batch, c.Seed, c.RNG, c.Optimizer, c.Hyper})
	if err != nil {
		return err
	}
	section(w, "META", mj)
	for _, s := range []struct {
		tag string
		t   []Tensor
	}{{"PARM", c.Params}, {"OPTS", c.Slots}, {"LRSC", c.LRScales}, {"XTRA", c.Extra}} {
		if (s.tag == "XTRA" || s.tag == "LRSC") && len(s.t) == 0 {
			continue
		}
		if err := tensorSection(w, s.tag, s.t); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(c.Sections))
	for k := range c.Sections {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b := binary.LittleEndian.AppendUint32(nil, uint32(len(k)))
		b = append(b, k...)
		section(w, "USER", append(b, c.Sections[k]...))
	}
	return nil
}

func section(w *bufio.Writer, tag string, payload []byte) {
	var h [12]byte
	copy(h[:4], tag)
	binary.LittleEndian.PutUint64(h[4:], uint64(len(payload)))
	w.Write(h[:])
	w.Write(payload)
}

func tensorSection(w *bufio.Writer, tag string, ts []Tensor) error {
	n := 4
	for _, t := range ts {
		if !sameCount(t) {
			return fmt.Errorf("tensor %s: shape %v does not hold %d values", t.Name, t.Shape, len(t.Data))
		}
		n += 4 + len(t.Name) + 4 + 8*len(t.Shape) + 4*len(t.Data)
	}
	var h [12]byte
	copy(h[:4], tag)
	binary.LittleEndian.PutUint64(h[4:], uint64(n))
	w.Write(h[:])
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:4], uint32(len(ts)))
	w.Write(b[:4])
	for _, t := range ts {
		binary.LittleEndian.PutUint32(b[:4], uint32(len(t.Name)))
		w.Write(b[:4])
		w.WriteString(t.Name)
		binary.LittleEndian.PutUint32(b[:4], uint32(len(t.Shape)))
		w.Write(b[:4])
		for _, d := range t.Shape {
			binary.LittleEndian.PutUint64(b[:], uint64(d))
			w.Write(b[:])
		}
		for _, v := range t.Data {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
			w.Write(b[:4])
		}
	}
	return nil
}

func sameCount(t Tensor) bool {
	n := 1
	for _, d := range t.Shape {
		if d < 0 {
			return false
		}
		n *= d
	}
	return n == len(t.Data)
}

// ErrCorrupt is wrapped by the errors of ReadCheckpoint for a file that is
// truncated, damaged or not a checkpoint.
var ErrCorrupt = errors.New("corrupt checkpoint")

// ReadCheckpoint reads and verifies a checkpoint file. A truncated or
// damaged file (wrong length, checksum mismatch, malformed section) is an
// error wrapping ErrCorrupt that says what is wrong; a file of a newer
// format version is an error naming both versions.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nn: checkpoint: %w", err)
	}
	c, err := decode(b)
	if err != nil {
		return nil, fmt.Errorf("nn: checkpoint %s: %w", path, err)
	}
	return c, nil
}

func corrupt(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, a...))
}

func decode(b []byte) (*Checkpoint, error) {
	if len(b) < 16 || [8]byte(b[:8]) != checkpointMagic {
		if len(b) < 8 || [8]byte(b[:8]) != checkpointMagic {
			return nil, corrupt("not an snn checkpoint (no SNNCKPT header)")
		}
		return nil, corrupt("truncated to %d bytes", len(b))
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != CheckpointVersion {
		return nil, fmt.Errorf("format version %d, this build reads version %d", v, CheckpointVersion)
	}
	if len(b) < 16+footerLen {
		return nil, corrupt("truncated to %d bytes", len(b))
	}
	body := b[:len(b)-footerLen]
	foot := b[len(b)-footerLen:]
	if n := binary.LittleEndian.Uint64(foot[:8]); n != uint64(len(body)) {
		return nil, corrupt("truncated or extended: %d bytes, the footer records %d (+%d)", len(b), n, footerLen)
	}
	if sum := crc32.Checksum(body, castagnoli); sum != binary.LittleEndian.Uint32(foot[8:]) {
		return nil, corrupt("checksum mismatch: the file is damaged")
	}
	c := &Checkpoint{Sections: map[string][]byte{}}
	var haveMeta, haveParams bool
	r := body[16:]
	for len(r) > 0 {
		if len(r) < 12 {
			return nil, corrupt("a section header is cut")
		}
		tag := string(r[:4])
		n := binary.LittleEndian.Uint64(r[4:12])
		r = r[12:]
		if n > uint64(len(r)) {
			return nil, corrupt("section %q of %d bytes exceeds the file", tag, n)
		}
		p := r[:n]
		r = r[n:]
		var err error
		switch tag {
		case "META":
			var m meta
			if err = json.Unmarshal(p, &m); err != nil {
				return nil, corrupt("section META: %v", err)
			}
			c.Step, c.Epoch, c.Batch, c.Seed, c.RNG, c.Optimizer, c.Hyper = m.Step, m.Epoch, m.Batch, m.Seed, m.RNG, m.Optimizer, m.Hyper
			haveMeta = true
		case "PARM":
			c.Params, err = decodeTensors(p)
			haveParams = true
		case "OPTS":
			c.Slots, err = decodeTensors(p)
		case "LRSC":
			c.LRScales, err = decodeTensors(p)
		case "XTRA":
			c.Extra, err = decodeTensors(p)
		case "USER":
			if len(p) < 4 || uint64(binary.LittleEndian.Uint32(p)) > uint64(len(p)-4) {
				return nil, corrupt("section USER: bad name length")
			}
			k := int(binary.LittleEndian.Uint32(p))
			c.Sections[string(p[4:4+k])] = append([]byte(nil), p[4+k:]...)
		}
		if err != nil {
			return nil, corrupt("section %s: %v", tag, err)
		}
	}
	if !haveMeta || !haveParams {
		return nil, corrupt("the META or PARM section is missing")
	}
	return c, nil
}

func decodeTensors(p []byte) ([]Tensor, error) {
	rd := reader{b: p}
	n := rd.u32()
	var ts []Tensor
	for i := uint32(0); i < n && rd.err == nil; i++ {
		var t Tensor
		t.Name = string(rd.bytes(uint64(rd.u32())))
		rank := rd.u32()
		if rank > 8 {
			return nil, fmt.Errorf("tensor %q of rank %d", t.Name, rank)
		}
		count := uint64(1)
		for range rank {
			d := rd.u64()
			if d > maxElems || count*d > maxElems {
				return nil, fmt.Errorf("tensor %q too large", t.Name)
			}
			count *= d
			t.Shape = append(t.Shape, int(d))
		}
		raw := rd.bytes(4 * count)
		if rd.err != nil {
			break
		}
		t.Data = make([]float32, count)
		for j := range t.Data {
			t.Data[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*j:]))
		}
		ts = append(ts, t)
	}
	if rd.err != nil {
		return nil, rd.err
	}
	if len(rd.b) != 0 {
		return nil, fmt.Errorf("%d bytes after the last tensor", len(rd.b))
	}
	return ts, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errors.New("cut short")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	b := r.bytes(4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *reader) u64() uint64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}
