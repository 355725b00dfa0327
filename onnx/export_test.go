package onnx_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/internal/onnxpb"
	"github.com/snnkit/snn/internal/testkit"
	"github.com/snnkit/snn/nn"
	"github.com/snnkit/snn/onnx"
)

// variant is a SeedNet as snn train builds it, in one of its forms.
type variant struct {
	name string
	cfg  nn.SeedNetConfig
}

// variants cover every layer kind SeedNet uses: SELU and ReLU, alpha
// dropout and dropout (removed), BatchNorm (folded), a Softmax output, at
// MNIST's and Places365's sizes.
var variants = []variant{
	{"28x28-10 selu alpha-dropout", nn.SeedNetConfig{Height: 28, Classes: 10, Dropout: 0.1}},
	{"28x28-10 relu dropout", nn.SeedNetConfig{Height: 28, Classes: 10, Activation: "relu", Dropout: 0.2}},
	{"28x28-10 selu softmax-output", nn.SeedNetConfig{Height: 28, Classes: 10, SoftmaxOutput: true}},
	{"64x64-365 selu batchnorm alpha-dropout", nn.SeedNetConfig{Height: 64, Classes: 365, BatchNorm: true, Dropout: 0.1}},
	{"64x64-365 relu batchnorm", nn.SeedNetConfig{Height: 64, Classes: 365, Activation: "relu", BatchNorm: true}},
}

// build makes the variant's network with its BatchNorm layers, if any,
// holding moving statistics and affine parameters away from their initial
// values, so that folding them shows.
func build(t testing.TB, cfg nn.SeedNetConfig, seed uint64) *nn.Model {
	t.Helper()
	cfg.Seed = seed
	m, err := nn.NewSeedNet(cfg)
	require.NoError(t, err)
	r := testkit.Rand(seed)
	for _, s := range m.State() {
		for i := range s.Data {
			if strings.HasSuffix(s.Name, ".moving_variance") {
				s.Data[i] = 0.5 + r.Float32()
			} else {
				s.Data[i] = 0.4 * (r.Float32() - 0.5)
			}
		}
	}
	for _, p := range m.Params() {
		switch {
		case strings.HasSuffix(p.Name, ".gamma"):
			for i := range p.Value {
				p.Value[i] = 0.8 + 0.4*r.Float32()
			}
		case !p.Kernel:
			for i := range p.Value {
				p.Value[i] = 0.2 * (r.Float32() - 0.5)
			}
		}
	}
	return m
}

func parse(t *testing.T, b []byte) *onnxpb.ModelProto {
	t.Helper()
	var mp onnxpb.ModelProto
	require.NoError(t, proto.Unmarshal(b, &mp))
	return &mp
}

func opTypes(g *onnxpb.GraphProto) []string {
	var ops []string
	for _, n := range g.GetNode() {
		ops = append(ops, n.GetOpType())
	}
	return ops
}

func attr(n *onnxpb.NodeProto, name string) *onnxpb.AttributeProto {
	for _, a := range n.GetAttribute() {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

func TestExportGraph(t *testing.T) {
	st := &nn.Standardization{Mean: []float64{0.45}, Std: []float64{0.27}}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			m := build(t, v.cfg, 1)
			var buf bytes.Buffer
			require.NoError(t, onnx.Export(&buf, m, onnx.Options{Standardization: st, ClassNames: []string{"a", "b"}, DocString: "test"}))
			mp := parse(t, buf.Bytes())
			assert.Equal(t, onnx.IRVersion, mp.GetIrVersion())
			require.Len(t, mp.GetOpsetImport(), 1)
			assert.Equal(t, int64(onnx.Opset), mp.GetOpsetImport()[0].GetVersion())
			assert.Equal(t, "", mp.GetOpsetImport()[0].GetDomain())
			require.Len(t, mp.GetMetadataProps(), 1)
			assert.Equal(t, `["a","b"]`, mp.GetMetadataProps()[0].GetValue())

			g := mp.GetGraph()
			actOp := "Selu"
			if v.cfg.Activation == "relu" {
				actOp = "Relu"
			}
			var want []string
			want = append(want, "Sub", "Div")
			for range 4 {
				want = append(want, "Conv", actOp, "Conv", actOp, "Conv", actOp, "MaxPool")
			}
			want = append(want, "Flatten", "Gemm", actOp, "Gemm", actOp, "Gemm", actOp, "Gemm", "Softmax")
			assert.Equal(t, want, opTypes(g), "no BatchNormalization, no Dropout")

			outs := []string{}
			for _, o := range g.GetOutput() {
				outs = append(outs, o.GetName())
			}
			if v.cfg.SoftmaxOutput {
				assert.Equal(t, []string{onnx.ProbabilitiesName}, outs)
			} else {
				assert.Equal(t, []string{onnx.LogitsName, onnx.ProbabilitiesName}, outs)
			}
			require.Len(t, g.GetInput(), 1)
			dims := g.GetInput()[0].GetType().GetTensorType().GetShape().GetDim()
			require.Len(t, dims, 4)
			assert.Equal(t, "N", dims[0].GetDimParam())
			assert.Equal(t, []int64{1, int64(v.cfg.Height), int64(v.cfg.Height)}, []int64{dims[1].GetDimValue(), dims[2].GetDimValue(), dims[3].GetDimValue()})

			// Every convolution and dense layer has a bias (BatchNorm's
			// folded in), and weights of the layer's shape.
			inits := map[string][]int64{}
			for _, in := range g.GetInitializer() {
				assert.Equal(t, int32(onnxpb.TensorProto_FLOAT), in.GetDataType())
				n := int64(1)
				for _, d := range in.GetDims() {
					n *= d
				}
				assert.Len(t, in.GetRawData(), int(4*n), in.GetName())
				inits[in.GetName()] = in.GetDims()
			}
			assert.Equal(t, []int64{32, 1, 3, 3}, inits["conv1_1.kernel"])
			assert.Equal(t, []int64{32}, inits["conv1_1.bias"])
			assert.Equal(t, []int64{int64(v.cfg.Classes), 512}, inits["output.kernel"])
			assert.Equal(t, []int64{1, 1, 1, 1}, inits["input_std"])
			for _, n := range g.GetNode() {
				switch n.GetOpType() {
				case "Selu":
					assert.Equal(t, float32(act.Alpha), attr(n, "alpha").GetF())
					assert.Equal(t, float32(act.Lambda), attr(n, "gamma").GetF())
				case "Conv":
					assert.Equal(t, []int64{1, 1, 1, 1}, attr(n, "pads").GetInts(), "3x3 'same'")
				case "MaxPool":
					assert.Equal(t, []int64{2, 2}, attr(n, "strides").GetInts())
					assert.Equal(t, []int64{0, 0, 0, 0}, attr(n, "pads").GetInts())
				case "Gemm":
					assert.Equal(t, int64(1), attr(n, "transB").GetI())
					assert.Len(t, n.GetInput(), 3)
				}
			}
		})
	}
}

func TestExportWithoutStandardizationOrNames(t *testing.T) {
	m := build(t, nn.SeedNetConfig{Height: 16, Classes: 3, Filters: []int{4}, Hidden: []int{8}}, 2)
	b, err := onnx.Marshal(m, onnx.Options{})
	require.NoError(t, err)
	mp := parse(t, b)
	assert.Equal(t, []string{"Conv", "Selu", "Conv", "Selu", "Conv", "Selu", "MaxPool", "Flatten", "Gemm", "Selu", "Gemm", "Softmax"}, opTypes(mp.GetGraph()))
	assert.Empty(t, mp.GetMetadataProps())
	assert.Equal(t, onnx.InputName, mp.GetGraph().GetNode()[0].GetInput()[0])

	again, err := onnx.Marshal(m, onnx.Options{})
	require.NoError(t, err)
	assert.Equal(t, b, again, "the same model marshals to the same bytes")
}

func TestExportErrors(t *testing.T) {
	m, err := nn.NewModel(nn.Shape{C: 1, H: 4, W: 4}, &nn.Flatten{}, &nn.Dense{Units: 3}, &nn.BatchNorm{}, &nn.Dense{Units: 2})
	require.NoError(t, err)
	_, err = onnx.Marshal(m, onnx.Options{Standardization: &nn.Standardization{Mean: []float64{0, 1}, Std: []float64{1, 1}}})
	assert.ErrorContains(t, err, "onnx: standardization of 2 channels for inputs of 1")

	bn, err := nn.NewModel(nn.Shape{C: 1, H: 4, W: 4}, &nn.BatchNorm{}, &nn.Flatten{}, &nn.Dense{Units: 2})
	require.NoError(t, err)
	_, err = onnx.Marshal(bn, onnx.Options{})
	assert.ErrorContains(t, err, "does not follow a conv2d or dense layer")

	sq, err := nn.NewModel(nn.Shape{C: 1, H: 1, W: 1}, &square{}, &nn.Dense{Units: 2})
	require.NoError(t, err)
	_, err = onnx.Marshal(sq, onnx.Options{})
	assert.ErrorContains(t, err, "square_1 of kind square")

	vec, err := nn.NewModel(nn.Shape{C: 2, H: 3, W: 3}, &nn.Conv2D{Filters: 2, KernelSize: 2})
	require.NoError(t, err)
	_, err = onnx.Marshal(vec, onnx.Options{})
	assert.ErrorContains(t, err, "not a vector")
}

// TestExportDenseAfterConvolution exports a Dense layer that follows a
// convolution with a 1x1 output directly: the graph flattens first.
func TestExportDenseAfterConvolution(t *testing.T) {
	m, err := nn.NewModel(nn.Shape{C: 1, H: 3, W: 3}, &nn.Conv2D{Filters: 4, KernelSize: 3}, &nn.ReLU{}, &nn.Dense{Units: 2})
	require.NoError(t, err)
	m.Init(1)
	b, err := onnx.Marshal(m, onnx.Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"Conv", "Relu", "Flatten", "Gemm", "Softmax"}, opTypes(parse(t, b).GetGraph()))
}

// square is a layer the exporter does not know.
type square struct{ nn.LayerBase }

func (square) Kind() string                        { return "square" }
func (square) Build(in nn.Shape) (nn.Shape, error) { return in, nil }
func (square) Params() []*nn.Param                 { return nil }
func (square) Flags() nn.Flags                     { return 0 }
func (square) Forward(_ *nn.Context, _ int, x, y []float32) {
	for i, v := range x {
		y[i] = v * v
	}
}
func (square) Backward(*nn.Context, int, []float32, []float32, []float32, []float32) {}
