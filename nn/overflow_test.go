package nn

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/snnkit/snn/internal/testkit"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	p62    = 1 << 62
	maxInt = math.MaxInt
)

// smallModel is 4 features -> Dense(2) -> Softmax, run once on a batch of
// 2 so that Backward may follow.
func smallModel(t testing.TB) *Model {
	m, err := NewModel(Vector(4), &Dense{Units: 2}, &Softmax{})
	require.NoError(t, err)
	m.Init(1)
	m.Forward(&Context{Training: true}, 2, make([]float32, 8))
	return m
}

// panicOf runs f and returns its panic value, nil if none.
func panicOf(f func()) (msg any) {
	defer func() { msg = recover() }()
	f()
	return nil
}

// fenced returns n floats between sentinels (see testkit.Fenced).
func fenced(n int) *testkit.Fence {
	return testkit.Fenced(n, func(i int) float32 { return float32(i%5) - 2 })
}

// TestHugeBatchPanics: batch sizes near the top of int's range (n*size
// wraps around to the slice's length) and negative ones panic naming n,
// in the model's passes, its layers, the losses and TopK, without writing
// around the slices.
func TestHugeBatchPanics(t *testing.T) {
	// 2^62+2 samples of 4 floats are 2^64+8 floats: 8 once wrapped.
	const wraps4 = p62 + 2
	conv := &Conv2D{Filters: 2, KernelSize: 1}
	_, err := conv.Build(Shape{C: 1, H: 2, W: 2})
	require.NoError(t, err)
	pool := &MaxPool2D{}
	_, err = pool.Build(Shape{C: 1, H: 2, W: 2})
	require.NoError(t, err)
	dense := &Dense{Units: 4}
	_, err = dense.Build(Vector(4))
	require.NoError(t, err)
	softmax := &Softmax{}
	_, err = softmax.Build(Vector(4))
	require.NoError(t, err)
	c := &Context{Training: true}
	for _, tc := range []struct {
		name string
		call func(m *Model, x, y []float32)
		want string
	}{
		{"Forward wraps", func(m *Model, x, _ []float32) { m.Forward(c, wraps4, x) }, "nn: Forward: n = 4611686018427387906"},
		{"Forward max", func(m *Model, x, _ []float32) { m.Forward(c, maxInt, x) }, "nn: Forward: n = 9223372036854775807"},
		{"Forward negative", func(m *Model, x, _ []float32) { m.Forward(c, -1, x) }, "nn: Forward: n = -1 < 0"},
		{"Backward wraps", func(m *Model, x, y []float32) { m.Backward(c, wraps4, x, y, nil) }, "nn: Backward: n = 4611686018427387906"},
		{"Backward dOut wraps", func(m *Model, x, y []float32) { m.Backward(c, 2, x, y[:3], nil) }, "nn: Backward: n = 2 samples of 2 floats are 4 floats, len(dOut) = 3"},
		{"Predict out", func(m *Model, x, y []float32) { m.Predict(x, y[:5]) }, "nn: Predict: n = 2 samples of 2 floats are 4 floats, len(out) = 5"},
		{"Dense.Forward", func(_ *Model, x, y []float32) { dense.Forward(c, wraps4, x, y) }, "nn: Dense.Forward: n = 4611686018427387906"},
		{"Dense.Backward", func(_ *Model, x, y []float32) { dense.Backward(c, wraps4, x, nil, y, x) }, "nn: Dense.Backward: n = 4611686018427387906"},
		{"Softmax.Forward", func(_ *Model, x, y []float32) { softmax.Forward(c, wraps4, x, y) }, "nn: Softmax.Forward: n = 4611686018427387906"},
		{"Softmax.Backward", func(_ *Model, x, y []float32) { softmax.Backward(c, maxInt, nil, x, y, x) }, "nn: Softmax.Backward: n = 9223372036854775807"},
		{"Conv2D.Forward", func(_ *Model, x, y []float32) { conv.Forward(c, wraps4, x, y) }, "nn: Conv2D.Forward: n = 4611686018427387906"},
		{"Conv2D.Backward", func(_ *Model, x, y []float32) { conv.Backward(c, wraps4, x, nil, y, x) }, "nn: Conv2D.Backward: n = 4611686018427387906"},
		{"MaxPool2D.Forward", func(_ *Model, x, y []float32) { pool.Forward(c, wraps4, x, y[:2]) }, "nn: MaxPool2D.Forward: n = 4611686018427387906"},
		{"SoftmaxCrossEntropy classes", func(_ *Model, x, y []float32) {
			(&SoftmaxCrossEntropy{}).Loss(4, p62+2, x, []int32{0, 0, 0, 0}, nil)
		}, "nn: loss: n = 4 samples of 4611686018427387906 floats"},
		{"CrossEntropy n", func(_ *Model, x, y []float32) { CrossEntropy{}.Loss(wraps4, 4, x, nil, y) }, "nn: loss: n = 4611686018427387906"},
		{"TopK n", func(_ *Model, x, _ []float32) { TopK(wraps4, 4, x, []int32{0, 1}, 1) }, "nn: TopK: n = 4611686018427387906"},
		{"TopK classes", func(_ *Model, x, _ []float32) { TopK(4, p62+2, x, []int32{0, 1, 2, 3}, 1) }, "nn: TopK: n = 4 samples of 4611686018427387906 floats"},
		{"TopK label", func(_ *Model, x, _ []float32) { TopK(2, 4, x, []int32{0, 7}, 1) }, "nn: TopK: labels[1] = 7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := smallModel(t)
			fx, fy := fenced(8), fenced(8)
			x0, y0 := append([]float32(nil), fx.S()...), append([]float32(nil), fy.S()...)
			msg := panicOf(func() { tc.call(m, fx.S(), fy.S()) })
			require.NotNil(t, msg, "no panic")
			require.IsType(t, "", msg)
			assert.True(t, strings.HasPrefix(msg.(string), tc.want), "%q", msg)
			fx.Check(t, "x")
			fy.Check(t, "y")
			assert.Equal(t, x0, fx.S())
			assert.Equal(t, y0, fy.S())
		})
	}
}

// TestValidCallsStillWork: the checked entry points give what they gave,
// on fenced slices, and touch nothing around them.
func TestValidCallsStillWork(t *testing.T) {
	m := smallModel(t)
	fx, fout := fenced(12), testkit.Fenced(6, nil)
	m.Predict(fx.S(), fout.S())
	want := append([]float32(nil), m.Forward(&Context{}, 3, fx.S())...)
	assert.Equal(t, want, fout.S())
	for i := 0; i < 3; i++ {
		assert.InDelta(t, 1, fout.S()[2*i]+fout.S()[2*i+1], 1e-6, "softmax row %d", i)
	}
	fx.Check(t, "x")
	fout.Check(t, "out")
	assert.Equal(t, 1, TopK(2, 2, []float32{0, 1, 1, 0}, []int32{1, 1}, 1))
	b := Batches{N: maxInt, Size: 2}
	assert.Equal(t, maxInt/2+1, b.PerEpoch(), "N + Size - 1 wraps")
	assert.Equal(t, []int{6}, Batches{N: 7, Size: 3}.Batch([]int{0, 1, 2, 3, 4, 5, 6}, 2))
	assert.Equal(t, []int{3, 4, 5}, Batches{N: 7, Size: 3}.Batch([]int{0, 1, 2, 3, 4, 5, 6}, 1))
}

// hugeData is a data set claiming n samples of 4 features.
type hugeData struct{ n int }

func (d hugeData) Len() int     { return d.n }
func (d hugeData) Shape() Shape { return Vector(4) }
func (d hugeData) Classes() int { return 2 }
func (d hugeData) Load(idx []int, x []float32, labels []int32) error {
	clear(x)
	clear(labels)
	return nil
}

// TestHugeSizesAreErrors: batch sizes and data set sizes whose buffers no
// slice can hold are errors naming them, where make would die with a
// runtime error or a wrapped product would allocate too little.
func TestHugeSizesAreErrors(t *testing.T) {
	m := smallModel(t)
	_, err := Evaluate(m, nil, hugeData{p62}, p62)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "batch = 4611686018427387904")
	_, err = ComputeStandardization(hugeData{p62}, maxInt)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "batch = 4611686018427387904")
	err = NewTrainer(m, NewSGD(), 1).Fit(context.Background(), hugeData{p62}, FitConfig{BatchSize: 2, Epochs: 1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "4611686018427387904 samples")
	err = NewTrainer(m, NewSGD(), 1).Fit(context.Background(), hugeData{p62}, FitConfig{BatchSize: p62, Epochs: 1})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "BatchSize = 4611686018427387904")

	tensors := &Tensors{X: make([]float32, 8), Y: []int32{0, 1, 0}, S: Vector(4), K: 2}
	err = tensors.Load([]int{2}, make([]float32, 4), make([]int32, 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "len(X) = 8 is not len(Y) = 3 samples")
	tensors = &Tensors{X: nil, Y: []int32{0}, S: Shape{C: 1 << 32, H: 1 << 32, W: 1}, K: 2}
	err = tensors.Load([]int{0}, nil, make([]int32, 1))
	require.Error(t, err, "C*H*W wraps to 0")
	assert.Contains(t, err.Error(), "S: shape")

	msg := panicOf(func() { Batches{N: 10, Size: 3}.Batch(make([]int, 10), maxInt) })
	assert.Equal(t, "nn: Batches.Batch: i = 9223372036854775807 is outside [0, 4) (N = 10, Size = 3)", msg)
	msg = panicOf(func() { Batches{N: 10, Size: p62}.Batch(make([]int, 9), 0) })
	assert.Equal(t, "nn: Batches.Batch: len(perm) = 9 < N = 10", msg)
}

// nnEdges are the batch sizes FuzzBatchSizes starts from.
var nnEdges = []int{0, 1, 2, 3, -1, math.MinInt, p62 - 1, p62, p62 + 1, p62 + 2, maxInt - 1, maxInt, 1 << 61, 1<<61 + 1}

// FuzzBatchSizes calls the model's passes, its layers, the losses and
// TopK with any n on fenced slices of any length: a call panics with
// nn's own message unless len(x) is exactly n samples, and nothing around
// the slices changes.
func FuzzBatchSizes(f *testing.F) {
	for i, n := range nnEdges {
		f.Add(n, uint8(8), uint8(i%6))
		f.Add(n, uint8(i), uint8((i+3)%6))
	}
	f.Fuzz(func(t *testing.T, n int, lenX, op uint8) {
		m := smallModel(t)
		c := &Context{Training: true}
		fx, fy := fenced(int(lenX)), fenced(int(lenX)/2)
		x, y := fx.S(), fy.S()
		calls := []struct {
			name string
			size int // floats per sample of x
			call func()
		}{
			{"Forward", 4, func() { m.Forward(c, n, x) }},
			{"Backward", 4, func() { m.Backward(c, n, x, y, nil) }},
			{"Dense.Forward", 4, func() { m.layers[0].Forward(c, n, x, y) }},
			{"Softmax.Forward", 2, func() { m.layers[1].Forward(c, n, x, x) }},
			{"loss", 2, func() { CrossEntropy{}.Loss(n, 2, x, make([]int32, max(0, min(n, 4))), nil) }},
			{"TopK", 2, func() { TopK(n, 2, x, make([]int32, max(0, min(n, 4))), 1) }},
		}
		k := calls[int(op)%len(calls)]
		msg := panicOf(k.call)
		fx.Check(t, "x")
		fy.Check(t, "y")
		fits := n >= 0 && new(big.Int).Mul(big.NewInt(int64(n)), big.NewInt(int64(k.size))).Cmp(big.NewInt(int64(len(x)))) == 0
		if msg == nil {
			require.True(t, fits, "%s: n = %d, len(x) = %d: no panic", k.name, n, len(x))
			return
		}
		s := fmt.Sprint(msg)
		require.True(t, strings.HasPrefix(s, "nn: "), "%s: panic %q is not nn's own", k.name, s)
		if !fits {
			require.Contains(t, s, fmt.Sprintf("n = %d", n), k.name)
		}
	})
}

// TestConcurrentUsePanics holds a Trainer's (and its Model's) flag in one
// goroutine, inside the call, while another goroutine calls in: the
// second call panics with the message, and the first completes.
func TestConcurrentUsePanics(t *testing.T) {
	m := smallModel(t)
	tr := NewTrainer(m, NewSGD(), 1)
	x, labels := make([]float32, 8), []int32{0, 1}
	for _, tc := range []struct {
		name   string
		holder string // whose flag the first call is inside of
		first  func()
		second func()
		want   string
	}{
		{"TrainBatch twice", "Model", func() { _, _ = tr.TrainBatch(x, labels) }, func() { _, _ = tr.TrainBatch(x, labels) },
			"nn: Trainer used from two goroutines at once; a Trainer is not safe for concurrent use"},
		{"Forward during TrainBatch", "Model", func() { _, _ = tr.TrainBatch(x, labels) }, func() { m.Forward(&Context{}, 2, x) },
			"nn: Model used from two goroutines at once; a Model is not safe for concurrent use"},
		{"TrainBatch during Fit", "Trainer", func() {
			_ = tr.Fit(context.Background(), &Tensors{X: x, Y: labels, S: Vector(4), K: 2}, FitConfig{BatchSize: 2, MaxSteps: 1})
		}, func() { _, _ = tr.TrainBatch(x, labels) },
			"nn: Trainer used from two goroutines at once; a Trainer is not safe for concurrent use"},
		{"Predict during Backward", "Model", func() { m.Backward(&Context{}, 2, x, make([]float32, 4), nil) }, func() { m.Predict(x, make([]float32, 4)) },
			"nn: Model used from two goroutines at once; a Model is not safe for concurrent use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inside, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			enterHook = func(what string) {
				if what == tc.holder {
					once.Do(func() {
						close(inside)
						<-release
					})
				}
			}
			defer func() { enterHook = nil }()
			var wg sync.WaitGroup
			var firstPanic any
			wg.Add(1)
			go func() {
				defer wg.Done()
				firstPanic = panicOf(tc.first)
			}()
			<-inside
			msg := panicOf(tc.second)
			close(release)
			wg.Wait()
			assert.Nil(t, firstPanic)
			assert.Equal(t, tc.want, msg)
		})
	}
	// Both flags are free again.
	_, err := tr.TrainBatch(x, labels)
	require.NoError(t, err)
	m.Forward(&Context{}, 2, x)
}

// TestLayerLengthsPanic: the element-wise layers, which take their size
// from the slices, name the slices whose lengths differ.
func TestLayerLengthsPanic(t *testing.T) {
	train := &Context{Training: true}
	short, long := make([]float32, 3), make([]float32, 4)
	for _, tc := range []struct {
		call func()
		want string
	}{
		{func() { (&SELU{}).Forward(train, 1, long, short) }, "nn: SELU.Forward: len(y) = 3, len(x) = 4: lengths differ"},
		{func() { (&SELU{}).Backward(train, 1, nil, long, long, short) }, "nn: SELU.Backward: len(dx) = 3, len(y) = 4: lengths differ"},
		{func() { (&ReLU{}).Backward(train, 1, nil, long, short, long) }, "nn: ReLU.Backward: len(dy) = 3, len(y) = 4: lengths differ"},
		{func() { (&Flatten{}).Forward(train, 1, long, short) }, "nn: Flatten.Forward: len(y) = 3, len(x) = 4: lengths differ"},
		{func() { (&Dropout{Rate: 0.5}).Forward(train, 1, long, short) }, "nn: Dropout.Forward: len(y) = 3, len(x) = 4: lengths differ"},
		{func() { (&Dropout{Rate: 0.5}).Backward(train, 1, nil, nil, long, long) }, "nn: Dropout.Backward: len(dy) = 4, but no training Forward has run on that many values"},
		{func() { (&AlphaDropout{Rate: 0.5}).Backward(train, 1, nil, nil, long, short) }, "nn: AlphaDropout.Backward: len(dx) = 3, len(dy) = 4: lengths differ"},
		{func() {
			p := &MaxPool2D{}
			_, err := p.Build(Shape{C: 1, H: 2, W: 2})
			require.NoError(t, err)
			p.Backward(train, 1, nil, nil, short[:1], long)
		}, "nn: MaxPool2D.Backward: no training Forward has run on a batch that large"},
	} {
		assert.Equal(t, tc.want, panicOf(tc.call))
	}
}
