package nn_test

import (
	"fmt"
	"math"

	"github.com/snnkit/snn/nn"
)

// Re-standardize every unit of a SELU network on the batch after every
// second update. The model stays a plain SELU network: DataNorm changes
// only its weights and biases.
func ExampleDataNorm() {
	m, err := nn.NewSeedNet(nn.SeedNetConfig{Height: 16, Classes: 3, Filters: []int{4, 4, 8, 8}, Hidden: []int{16}, Seed: 1})
	if err != nil {
		panic(err)
	}
	t := nn.NewTrainer(m, nn.NewAdam(), 1)
	t.BatchConstraint = &nn.DataNorm{Every: 2}
	d := stripes(24)
	for range 4 {
		if _, err := t.TrainBatch(d.X, d.Y); err != nil {
			panic(err)
		}
	}
	fmt.Println(t.BatchConstraint, "after", t.Step(), "steps")
	// Output: datanorm(2) after 4 steps
}

// With ScaleLR, DataNorm also keeps each rescaled unit's learning-rate
// factor (Param.LRScale): the product of the unit's rescales, which the
// optimizer multiplies the unit's learning rate by. The logits are not
// rescaled, and keep their learning rate.
func ExampleDataNorm_scaleLR() {
	m, err := nn.NewSeedNet(nn.SeedNetConfig{Height: 16, Classes: 3, Filters: []int{4, 4, 8, 8}, Hidden: []int{16}, Seed: 1})
	if err != nil {
		panic(err)
	}
	t := nn.NewTrainer(m, nn.NewAdam(), 1)
	t.BatchConstraint = &nn.DataNorm{ScaleLR: true}
	d := stripes(24)
	for range 4 {
		if _, err := t.TrainBatch(d.X, d.Y); err != nil {
			panic(err)
		}
	}
	for _, name := range []string{"conv1_1.kernel", "output.kernel"} {
		p := m.Param(name)
		moved := 0
		for _, f := range p.LRScale {
			if f != 1 {
				moved++
			}
		}
		fmt.Printf("%s: %d factors for %d units, %d of them not 1\n", p.Name, len(p.LRScale), p.Units(), moved)
	}
	// Output:
	// conv1_1.kernel: 4 factors for 4 units, 4 of them not 1
	// output.kernel: 0 factors for 3 units, 0 of them not 1
}

// The setting that keeps every layer in band and trains as well as ReLU on
// both shapes `snn compare` runs: rescale every 4 updates, scale each
// unit's learning rate by its rescales, and centre the gradients, so that
// each update follows the bias the rescale will set. The rescaled layers'
// biases then get no gradient (their rescale sets them); the logits' do.
func ExampleDataNorm_centreGrad() {
	m, err := nn.NewSeedNet(nn.SeedNetConfig{Height: 16, Classes: 3, Filters: []int{4, 4, 8, 8}, Hidden: []int{16}, Seed: 1})
	if err != nil {
		panic(err)
	}
	t := nn.NewTrainer(m, nn.NewAdam(), 1)
	t.BatchConstraint = &nn.DataNorm{Every: 4, ScaleLR: true, CentreGrad: true}
	d := stripes(24)
	for range 4 {
		if _, err := t.TrainBatch(d.X, d.Y); err != nil {
			panic(err)
		}
	}
	fmt.Println(t.BatchConstraint)
	for _, name := range []string{"conv1_1.bias", "dense1.bias", "output.bias"} {
		p := m.Param(name)
		var most float64
		for _, g := range p.Grad {
			most = max(most, math.Abs(float64(g)))
		}
		fmt.Printf("%s: largest gradient below 1e-6: %v\n", name, most < 1e-6)
	}
	// Output:
	// datanorm-lr-centre(4)
	// conv1_1.bias: largest gradient below 1e-6: true
	// dense1.bias: largest gradient below 1e-6: true
	// output.bias: largest gradient below 1e-6: false
}

// Train a SeedNet with BatchNorm, then fold the normalization into the
// convolutions and dense layers for inference: the folded model has no
// BatchNorm left and computes the same logits to within rounding.
func ExampleModel_Fold() {
	m, err := nn.NewSeedNet(nn.SeedNetConfig{Height: 16, Classes: 3, BatchNorm: true, Filters: []int{4, 4, 8, 8}, Hidden: []int{16}, Seed: 1})
	if err != nil {
		panic(err)
	}
	t := nn.NewTrainer(m, nn.NewAdam(), 1)
	d := stripes(24)
	for range 5 {
		if _, err := t.TrainBatch(d.X, d.Y); err != nil {
			panic(err)
		}
	}
	f, err := m.Fold()
	if err != nil {
		panic(err)
	}
	ctx := &nn.Context{}
	want := append([]float32(nil), m.Forward(ctx, 24, d.X)...)
	got := f.Forward(ctx, 24, d.X)
	worst := 0.0
	for i := range want {
		worst = max(worst, math.Abs(float64(got[i]-want[i])))
	}
	fmt.Println(len(m.Layers()), "layers,", len(f.Layers()), "folded; same logits:", worst < 1e-4)
	// Output: 45 layers, 32 folded; same logits: true
}
