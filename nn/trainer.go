package nn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/snnkit/snn/internal/bounds"
)

// Trainer trains a Model with a loss and an optimizer: TrainBatch is one
// step, Fit the loop over a data set. It holds the state a checkpoint
// saves: the step, the position in the data (epoch and batch), and the
// seed of the random streams (data order and dropout masks).
//
// A Trainer is not safe for concurrent use, and neither is its Model:
// TrainBatch and Fit panic when they find another call running on the
// same Trainer, or another pass on the same Model.
type Trainer struct {
	Model     *Model
	Loss      Loss
	Optimizer Optimizer
	// BatchConstraint, if not nil, runs after every update and the kernel
	// constraints, on the step's batch (DataNorm).
	BatchConstraint BatchConstraint

	seed  uint64
	step  int64 // updates done
	epoch int64 // epochs completed
	batch int64 // batches of the current epoch done

	dOut []float32
	ctx  Context // the step's context, kept here so it does not escape per step
	use  inUse
}

// NewTrainer returns a trainer for m with the given optimizer, the loss
// DefaultLoss(m), and seed selecting the data order and the dropout masks.
func NewTrainer(m *Model, opt Optimizer, seed uint64) *Trainer {
	opt.Bind(m.Params())
	return &Trainer{Model: m, Loss: DefaultLoss(m), Optimizer: opt, seed: seed}
}

// SetThreads sets how many goroutines the model's passes and the
// optimizer's update may use; n <= 0 means par.Threads() at the time of
// each call (GOMAXPROCS by default). Results do not depend on it.
func (t *Trainer) SetThreads(n int) {
	t.Model.SetThreads(n)
	if o, ok := t.Optimizer.(interface{ SetThreads(int) }); ok {
		o.SetThreads(n)
	}
}

// Step is the number of updates done.
func (t *Trainer) Step() int64 { return t.step }

// Epoch is the number of completed epochs, Batch the number of batches
// done in the current one (Fit's position in the data).
func (t *Trainer) Epoch() int64 { return t.epoch }

// Batch is the number of batches of the current epoch done.
func (t *Trainer) Batch() int64 { return t.batch }

// Seed is the seed of the data order and dropout streams.
func (t *Trainer) Seed() uint64 { return t.seed }

// StepStats describe one training step.
type StepStats struct {
	Step       int64 // updates done, this one included
	Epoch      int64 // epoch of the batch, from 0 (Fit only)
	Batch      int64 // batch within the epoch, from 0 (Fit only)
	N          int   // samples in the batch
	Loss       float64
	Top1, Top5 float64 // accuracy on the batch, before the update
	LR         float64 // the learning rate of the update
	// Compute is the time of the forward and backward passes, the update
	// and the constraints; Data the time spent waiting for the batch (Fit
	// only).
	Compute, Data time.Duration
}

// ImagesPerSec is the step's throughput, data wait included.
func (s StepStats) ImagesPerSec() float64 {
	d := (s.Compute + s.Data).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(s.N) / d
}

// NonFiniteError reports a step whose loss is NaN or infinite. The step is
// not applied: the weights are those before it.
type NonFiniteError struct {
	Step int64 // updates done before the failed step
	Loss float64
	// Layer is the index of the first layer whose output holds a NaN or
	// an infinity, -1 if the input batch already does, and len(layers) if
	// every output is finite and the loss itself is not.
	Layer int
	Name  string // the layer's name, "input" or "loss"
}

func (e *NonFiniteError) Error() string {
	switch e.Name {
	case "input":
		return fmt.Sprintf("nn: step %d: loss is %v: the input batch holds a NaN or an infinity", e.Step+1, e.Loss)
	case "loss":
		return fmt.Sprintf("nn: step %d: loss is %v although every layer's output is finite", e.Step+1, e.Loss)
	}
	return fmt.Sprintf("nn: step %d: loss is %v: layer %d (%s) is the first whose output is not finite", e.Step+1, e.Loss, e.Layer, e.Name)
}

// TrainBatch runs one training step on the batch x ([n][InputShape]) with
// labels (n of them): the forward pass in training mode, the loss and its
// gradient, the backward pass, the optimizer's update and every kernel's
// constraint, then the batch constraint. It allocates nothing once the model has run a batch of this
// size. A label outside the model's classes is an error; a non-finite loss
// is a *NonFiniteError, and the step is not applied.
func (t *Trainer) TrainBatch(x []float32, labels []int32) (StepStats, error) {
	t.use.enter("Trainer")
	defer t.use.leave()
	return t.trainBatch(x, labels)
}

// trainBatch is TrainBatch with the caller holding t.
func (t *Trainer) trainBatch(x []float32, labels []int32) (StepStats, error) {
	start := time.Now()
	m := t.Model
	m.use.enter("Model")
	defer m.use.leave()
	n := len(labels)
	classes := m.OutputShape().Size()
	if n == 0 {
		return StepStats{}, fmt.Errorf("nn: TrainBatch: empty batch")
	}
	if !bounds.IsProduct(len(x), n, m.in.Size()) {
		return StepStats{}, fmt.Errorf("nn: TrainBatch: %d values for %d samples of %v", len(x), n, m.in)
	}
	if err := checkLabels(labels, classes); err != nil {
		return StepStats{}, fmt.Errorf("nn: TrainBatch: %w", err)
	}
	size, ok := floats(n, classes)
	if !ok {
		return StepStats{}, fmt.Errorf("nn: TrainBatch: %d samples of %d classes are more floats than a buffer holds", n, classes)
	}
	if len(t.dOut) < size {
		t.dOut = make([]float32, size)
	}
	dOut := t.dOut[:size]
	t.ctx = Context{Training: true, Seed: t.seed, Step: t.step}
	c := &t.ctx
	out := m.forwardBatch("TrainBatch", c, n, x)
	loss := t.Loss.Loss(n, classes, out, labels, dOut)
	st := StepStats{
		Step: t.step + 1, N: n, Loss: loss, LR: t.Optimizer.LearningRate(),
		Top1: float64(TopK(n, classes, out, labels, 1)) / float64(n),
		Top5: float64(TopK(n, classes, out, labels, 5)) / float64(n),
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return st, t.nonFinite(c, n, x, loss)
	}
	if d, ok := t.BatchConstraint.(interface{ centreLayers(*Model) []bool }); ok {
		m.centre = d.centreLayers(m) // this step's backward pass only
	}
	m.backward(c, n, x, dOut, nil)
	m.centre = nil
	t.step++
	t.Optimizer.Update(t.step)
	for _, p := range m.params {
		if p.Constraint != nil {
			p.Constraint.Apply(p)
		}
	}
	if t.BatchConstraint != nil {
		t.BatchConstraint.ApplyBatch(m, n, x, t.step)
	}
	st.Compute = time.Since(start)
	return st, nil
}

// nonFinite replays the forward pass (same masks: same context), stopping
// at the first layer whose output is not finite.
func (t *Trainer) nonFinite(c *Context, n int, x []float32, loss float64) error {
	e := &NonFiniteError{Step: t.step, Loss: loss, Layer: -1, Name: "input"}
	if !finite(x) {
		return e
	}
	_, i := t.Model.forward(c, n, x, firstNonFinite{})
	if i < 0 {
		e.Layer, e.Name = len(t.Model.layers), "loss"
	} else {
		e.Layer, e.Name = i, t.Model.layers[i].base().name
	}
	return e
}

// FitConfig configures Fit. BatchSize and Epochs or MaxSteps are required.
type FitConfig struct {
	BatchSize int
	// Epochs is the number of epochs to complete, counted from the start
	// of training: a trainer restored in epoch 3 of 10 trains 7 more.
	Epochs int64
	// MaxSteps, if > 0, stops training when the trainer has done that
	// many updates.
	MaxSteps int64
	// DropLast skips the last, smaller batch of each epoch.
	DropLast bool

	// OnStep, if not nil, is called after every step; an error stops Fit
	// and is returned.
	OnStep func(StepStats) error

	// Validation, if not nil, is evaluated every ValidateEvery steps (0:
	// at the end of every epoch) and passed to OnValidate.
	Validation    Dataset
	ValidateEvery int64
	OnValidate    func(step int64, m Metrics) error

	// Monitor, if not nil, measures the network every Monitor.Every steps
	// (and before the first step of a fresh trainer).
	Monitor *Monitor

	// CheckpointPath, if set, receives a checkpoint every CheckpointEvery
	// steps (0: at the end of every epoch), after any step that ends
	// CheckpointInterval or more after the last checkpoint (0: never), when
	// Fit finishes, and when the context is cancelled.
	//
	// When Fit stops on an error after its loop has started (a data set
	// that fails to load a batch, an error of OnStep, OnValidate or the
	// monitor) it first writes a checkpoint of the last completed step, so
	// that no step is lost; if that fails too, the error says so, and the
	// file at CheckpointPath is the last good checkpoint, untouched. No
	// checkpoint is written after a non-finite loss or a failed
	// checkpoint: the last good one stays.
	CheckpointPath     string
	CheckpointEvery    int64
	CheckpointInterval time.Duration
	// Checkpoint adds data to every checkpoint Fit writes (the input
	// standardization, the command line's configuration).
	Checkpoint func(*Checkpoint)
}

// Fit trains on ds from the trainer's position (step, epoch, batch) until
// cfg.Epochs epochs are complete or cfg.MaxSteps updates are done. Epoch e
// visits the samples in the order Permutation(seed, e).
//
// When ctx is cancelled Fit stops after the step in progress, writes a
// checkpoint if cfg.CheckpointPath is set, and returns an error wrapping
// ctx.Err(); Fit from a trainer restored from that checkpoint continues
// exactly as if it had not stopped.
func (t *Trainer) Fit(ctx context.Context, ds Dataset, cfg FitConfig) error {
	t.use.enter("Trainer")
	defer t.use.leave()
	m := t.Model
	if err := t.checkData(ds, "training"); err != nil {
		return err
	}
	if cfg.Validation != nil {
		if err := t.checkData(cfg.Validation, "validation"); err != nil {
			return err
		}
	}
	if cfg.BatchSize < 1 {
		return fmt.Errorf("nn: Fit: BatchSize = %d, must be >= 1", cfg.BatchSize)
	}
	if cfg.Epochs <= 0 && cfg.MaxSteps <= 0 {
		return errors.New("nn: Fit: set Epochs or MaxSteps")
	}
	b := Batches{Seed: t.seed, N: ds.Len(), Size: cfg.BatchSize, DropLast: cfg.DropLast}
	per := int64(b.PerEpoch())
	if per == 0 {
		return fmt.Errorf("nn: Fit: %d samples make no batch of %d", ds.Len(), cfg.BatchSize)
	}
	if t.batch >= per {
		return fmt.Errorf("nn: Fit: the trainer is at batch %d of an epoch of %d batches: data set or batch size differ from the checkpoint's", t.batch, per)
	}
	if cfg.Monitor != nil {
		if err := cfg.Monitor.prepare(m, ds, cfg.BatchSize); err != nil {
			return err
		}
		if t.step == 0 {
			if err := cfg.Monitor.run(m, t.step); err != nil {
				return err
			}
		}
	}

	// No batch holds more than the data set.
	batch := min(cfg.BatchSize, b.N)
	size, ok := floats(batch, m.in.Size())
	if !ok {
		return fmt.Errorf("nn: Fit: BatchSize = %d samples of %v are more floats than a buffer holds", cfg.BatchSize, m.in)
	}
	x := make([]float32, size)
	labels := make([]int32, batch)
	if _, ok := floats(b.N, 4); !ok { // two permutations of 8-byte ints
		return fmt.Errorf("nn: Fit: %d samples are more indices than a buffer holds", b.N)
	}
	perm, next := make([]int, b.N), make([]int, b.N)
	Permutation(t.seed, t.epoch, perm)
	Permutation(t.seed, t.epoch+1, next)
	pf, _ := ds.(Prefetcher)

	done := func() bool {
		return (cfg.Epochs > 0 && t.epoch >= cfg.Epochs) || (cfg.MaxSteps > 0 && t.step >= cfg.MaxSteps)
	}
	lastSave := time.Now()
	save := func() error {
		if cfg.CheckpointPath == "" {
			return nil
		}
		lastSave = time.Now()
		return t.Save(cfg.CheckpointPath, cfg.Checkpoint)
	}
	// fail saves the last completed step before returning err, the error
	// of a phase that left the trainer consistent (no step half applied).
	fail := func(err error) error {
		if cfg.CheckpointPath == "" {
			return err
		}
		if serr := save(); serr != nil {
			return fmt.Errorf("%w; saving step %d failed too: %v", err, t.step, serr)
		}
		return err
	}
	validate := func() error {
		if cfg.Validation == nil {
			return nil
		}
		r, err := Evaluate(m, t.Loss, cfg.Validation, cfg.BatchSize)
		if err != nil {
			return err
		}
		if cfg.OnValidate != nil {
			return cfg.OnValidate(t.step, r)
		}
		return nil
	}

	for !done() {
		if err := ctx.Err(); err != nil {
			if serr := save(); serr != nil {
				return fmt.Errorf("nn: training stopped at step %d (%w), and the checkpoint failed: %v", t.step, err, serr)
			}
			return fmt.Errorf("nn: training stopped at step %d: %w", t.step, err)
		}
		t0 := time.Now()
		idx := b.Batch(perm, int(t.batch))
		k := len(idx)
		xs, ls := x[:k*m.in.Size()], labels[:k]
		if err := ds.Load(idx, xs, ls); err != nil {
			return fail(fmt.Errorf("nn: Fit: epoch %d, batch %d: %w", t.epoch, t.batch, err))
		}
		if pf != nil {
			if t.batch+1 < per {
				pf.Prefetch(b.Batch(perm, int(t.batch)+1))
			} else {
				pf.Prefetch(b.Batch(next, 0))
			}
		}
		wait := time.Since(t0)
		st, err := t.trainBatch(xs, ls)
		st.Epoch, st.Batch, st.Data = t.epoch, t.batch, wait
		if err != nil {
			var nf *NonFiniteError
			if errors.As(err, &nf) {
				return err
			}
			return fail(err)
		}
		t.batch++
		endOfEpoch := t.batch == per
		if endOfEpoch {
			t.epoch++
			t.batch = 0
			perm, next = next, perm
			Permutation(t.seed, t.epoch+1, next)
		}
		if cfg.OnStep != nil {
			if err := cfg.OnStep(st); err != nil {
				return fail(err)
			}
		}
		if cfg.Monitor != nil && cfg.Monitor.Every > 0 && t.step%cfg.Monitor.Every == 0 {
			if err := cfg.Monitor.run(m, t.step); err != nil {
				return fail(err)
			}
		}
		if (cfg.ValidateEvery > 0 && t.step%cfg.ValidateEvery == 0) || (cfg.ValidateEvery <= 0 && endOfEpoch) {
			if err := validate(); err != nil {
				return fail(err)
			}
		}
		if (cfg.CheckpointEvery > 0 && t.step%cfg.CheckpointEvery == 0) || (cfg.CheckpointEvery <= 0 && endOfEpoch) ||
			(cfg.CheckpointInterval > 0 && time.Since(lastSave) >= cfg.CheckpointInterval) {
			if err := save(); err != nil {
				return err
			}
		}
	}
	return save()
}

func (t *Trainer) checkData(ds Dataset, what string) error {
	m := t.Model
	if ds.Shape() != m.in {
		return fmt.Errorf("nn: Fit: %s samples of shape %v, model input %v", what, ds.Shape(), m.in)
	}
	if ds.Classes() > m.OutputShape().Size() {
		return fmt.Errorf("nn: Fit: %s data of %d classes, model output %d", what, ds.Classes(), m.OutputShape().Size())
	}
	return nil
}
