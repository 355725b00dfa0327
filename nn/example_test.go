package nn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/snnkit/snn/nn"
)

// stripes makes n 16x16 images of three classes: a bright band across the
// top, middle or bottom third, over a faint gradient.
func stripes(n int) *nn.Tensors {
	x := make([]float32, n*16*16)
	y := make([]int32, n)
	for i := range n {
		k := i % 3
		y[i] = int32(k)
		for r := range 16 {
			for c := range 16 {
				v := float32((i*7+r+c)%16) / 64
				if r/6 == k {
					v += 0.7
				}
				x[(i*16+r)*16+c] = v
			}
		}
	}
	d, err := nn.NewTensors(nn.Shape{C: 1, H: 16, W: 16}, 3, x, y)
	if err != nil {
		panic(err)
	}
	return d
}

// Train a SeedNet (twelve SELU convolutions in four stages, three hidden
// Dense layers, LeCun-normal weights kept centred after every Adam step)
// on a small synthetic data set, then evaluate it. The reference network
// has 32/64/128/256 channels and 512 hidden units; this one is narrow so
// the example runs in a moment.
func Example() {
	m, err := nn.NewSeedNet(nn.SeedNetConfig{
		Height: 16, Width: 16, Classes: 3,
		Activation: "selu",
		Constraint: nn.WeightCentralization{},
		Filters:    []int{4, 4, 8, 8},
		Hidden:     []int{16, 16, 16},
		Seed:       1,
	})
	if err != nil {
		panic(err)
	}
	tr := nn.NewTrainer(m, nn.NewAdam(), 1)
	train := stripes(48)
	err = tr.Fit(context.Background(), train, nn.FitConfig{
		BatchSize: 8,
		Epochs:    6,
		OnStep: func(s nn.StepStats) error {
			if s.Step%18 == 0 {
				fmt.Printf("epoch %d, step %d\n", s.Epoch, s.Step)
			}
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	r, err := nn.Evaluate(m, nil, stripes(30), 10)
	if err != nil {
		panic(err)
	}
	fmt.Println("parameters:", m.NumParams())
	fmt.Println("test top-1 above 90%:", r.Top1 > 0.9)
	// Output:
	// epoch 2, step 18
	// epoch 5, step 36
	// parameters: 4735
	// test top-1 above 90%: true
}

// A checkpoint holds everything to continue exactly: the weights, Adam's
// moments, the step, the position in the data and the random streams.
func ExampleTrainer_Save() {
	newTrainer := func() *nn.Trainer {
		m, err := nn.NewSeedNet(nn.SeedNetConfig{Height: 16, Classes: 3, Filters: []int{2, 2, 2, 2}, Hidden: []int{4, 4, 4}})
		if err != nil {
			panic(err)
		}
		return nn.NewTrainer(m, nn.NewAdam(), 7)
	}
	dir, err := os.MkdirTemp("", "snn")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "checkpoint")

	data := stripes(24)
	tr := newTrainer()
	if err := tr.Fit(context.Background(), data, nn.FitConfig{BatchSize: 8, MaxSteps: 4, CheckpointPath: path}); err != nil {
		panic(err)
	}
	resumed := newTrainer()
	if _, err := resumed.Load(path); err != nil {
		panic(err)
	}
	fmt.Println("step", resumed.Step(), "epoch", resumed.Epoch(), "batch", resumed.Batch())
	// Output: step 4 epoch 1 batch 1
}

// The monitor reports, on a fixed batch, the mean and variance of every
// layer's output: the self-normalizing property made visible.
func ExampleMonitor() {
	m, err := nn.NewSeedNet(nn.SeedNetConfig{Height: 16, Classes: 3, Filters: []int{4, 4, 8, 8}, Hidden: []int{16, 16, 16}, Seed: 2})
	if err != nil {
		panic(err)
	}
	data := stripes(8)
	mon := &nn.Monitor{X: data.X, N: 8}
	r, err := mon.Measure(m, 0)
	if err != nil {
		panic(err)
	}
	for _, l := range r.Layers {
		if l.Kind == "maxpool2d" {
			fmt.Printf("%s %v: variance below 2: %v\n", l.Name, l.Shape, l.Var < 2)
		}
	}
	// Output:
	// pool1 4x8x8: variance below 2: true
	// pool2 4x4x4: variance below 2: true
	// pool3 8x2x2: variance below 2: true
	// pool4 8: variance below 2: true
}

// Load a checkpoint that describes its network (as snn train writes them)
// and ask it about two images. Predict standardizes the inputs as the
// training run did and is safe for concurrent calls.
func ExampleLoad() {
	arch := nn.SeedNetConfig{Height: 16, Classes: 3, Filters: []int{4, 8}, Hidden: []int{16}, Seed: 1}
	m, err := nn.NewSeedNet(arch)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "snn-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "checkpoint.snn")
	spec, _ := json.Marshal(arch)
	st := nn.Standardization{Mean: []float64{0.4}, Std: []float64{0.3}}
	err = nn.NewTrainer(m, nn.NewAdam(), 1).Save(path, func(c *nn.Checkpoint) {
		c.Sections = map[string][]byte{nn.SeedNetSection: spec, nn.ClassNamesSection: []byte(`["top","middle","bottom"]`)}
		c.Extra = st.Tensors()
	})
	if err != nil {
		panic(err)
	}

	p, err := nn.Load(path)
	if err != nil {
		panic(err)
	}
	x := stripes(2).X // two 16x16 images, pixels in [0, 1]
	probs := make([]float32, 2*p.Classes())
	p.Predict(x, 2, probs)
	var sum float32
	for _, v := range probs[:p.Classes()] {
		sum += v
	}
	fmt.Println("input", p.InputShape(), "classes", p.Classes(), "first", p.ClassName(0))
	fmt.Printf("probabilities of image 0 sum to %.3f\n", sum)
	// Output:
	// input 1x16x16 classes 3 first top
	// probabilities of image 0 sum to 1.000
}
