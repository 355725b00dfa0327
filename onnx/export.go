// Package onnx writes snn networks as ONNX models, so that a network
// trained by snn runs where Go does not: ONNX Runtime in a Python service,
// a browser or a phone.
//
// The model uses the default ONNX domain at opset 17 (IR version 8) and
// only these operators: Sub and Div (the input standardization), Conv,
// MaxPool, Relu, Selu, Flatten, Gemm and Softmax. BatchNorm layers are
// folded into the convolution or dense layer before them (nn.Model.Fold);
// dropout layers, the identity at inference, are left out. Its input is
// "input", float [N][C][H][W] with N free, holding images as the data
// package decodes them (not standardized); its outputs are "logits" and
// "probabilities", float [N][classes] (only "probabilities" for a network
// that ends in a Softmax layer).
package onnx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/snnkit/snn/act"
	"github.com/snnkit/snn/conv"
	"github.com/snnkit/snn/internal/onnxpb"
	"github.com/snnkit/snn/nn"
)

// Opset is the version of the default ONNX operator set the models use.
const Opset = 17

// IRVersion is the ONNX IR version of the models (the one of opset 17).
const IRVersion = int64(onnxpb.Version_IR_VERSION_2021_7_30)

// Names of the graph's input and outputs.
const (
	InputName         = "input"
	LogitsName        = "logits"
	ProbabilitiesName = "probabilities"
)

// ClassNamesKey is the model metadata key holding the class names as a
// JSON list, when they are known.
const ClassNamesKey = "snn.class_names"

// Options are what a model holds besides the network.
type Options struct {
	// Standardization, if not nil, is applied to the input first, as
	// (x - Mean)/Std per channel.
	Standardization *nn.Standardization
	// ClassNames, if not empty, go into the model's metadata.
	ClassNames []string
	// DocString describes the model (the run it comes from).
	DocString string
}

// Marshal returns m as a serialized ONNX ModelProto. A layer kind this
// package does not know is an error naming the layer.
func Marshal(m *nn.Model, o Options) ([]byte, error) {
	mp, err := Model(m, o)
	if err != nil {
		return nil, err
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(mp)
}

// Export writes m to w as an ONNX model (see Marshal).
func Export(w io.Writer, m *nn.Model, o Options) error {
	b, err := Marshal(m, o)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Model returns m as an ONNX ModelProto.
func Model(m *nn.Model, o Options) (*onnxpb.ModelProto, error) {
	f, err := m.Fold()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	g := &graph{GraphProto: &onnxpb.GraphProto{Name: proto.String("snn")}}
	in := f.InputShape()
	g.Input = append(g.Input, valueInfo(InputName, -1, in.C, in.H, in.W))
	cur, rank := InputName, 4
	if st := o.Standardization; st != nil {
		if len(st.Mean) != in.C || len(st.Std) != in.C {
			return nil, fmt.Errorf("onnx: standardization of %d channels for inputs of %d", len(st.Mean), in.C)
		}
		mean, std := make([]float32, in.C), make([]float32, in.C)
		for c := range in.C {
			// As checkpoints hold them.
			mean[c], std[c] = float32(st.Mean[c]), float32(st.Std[c])
		}
		g.initializer("input_mean", mean, 1, in.C, 1, 1)
		g.initializer("input_std", std, 1, in.C, 1, 1)
		cur = g.node("Sub", "standardize_sub", []string{cur, "input_mean"})
		cur = g.node("Div", "standardize_div", []string{cur, "input_std"})
	}
	shape := in
	probs := false
	for i, l := range f.Layers() {
		name := l.(interface{ Name() string }).Name()
		switch l := l.(type) {
		case *nn.Conv2D:
			gm := l.Geometry()
			inputs := g.withParams(cur, l.Params())
			cur = g.node("Conv", name, inputs,
				intsAttr("kernel_shape", gm.KH, gm.KW),
				intsAttr("strides", gm.StrideH, gm.StrideW),
				intsAttr("pads", gm.PadTop, gm.PadLeft, gm.PadBottom, gm.PadRight),
				intsAttr("dilations", 1, 1))
		case *nn.MaxPool2D:
			k, s := l.Window()
			pg := conv.Pool(shape.C, shape.H, shape.W, k, s)
			if l.Padding == nn.Same {
				pg = conv.PoolSame(shape.C, shape.H, shape.W, k, s)
			}
			if pg.OutH() != f.Shape(i).H || pg.OutW() != f.Shape(i).W {
				return nil, fmt.Errorf("onnx: %s: pooling geometry %v does not give the layer's output %v", name, pg, f.Shape(i))
			}
			cur = g.node("MaxPool", name, []string{cur},
				intsAttr("kernel_shape", pg.KH, pg.KW),
				intsAttr("strides", pg.StrideH, pg.StrideW),
				intsAttr("pads", pg.PadTop, pg.PadLeft, pg.PadBottom, pg.PadRight))
		case *nn.SELU:
			cur = g.node("Selu", name, []string{cur},
				floatAttr("alpha", act.Alpha), floatAttr("gamma", act.Lambda))
		case *nn.ReLU:
			cur = g.node("Relu", name, []string{cur})
		case *nn.Flatten:
			cur = g.node("Flatten", name, []string{cur}, intAttr("axis", 1))
			rank = 2
		case *nn.Dense:
			if rank != 2 {
				cur = g.node("Flatten", name+"_flatten", []string{cur}, intAttr("axis", 1))
				rank = 2
			}
			inputs := g.withParams(cur, l.Params())
			cur = g.node("Gemm", name, inputs, intAttr("transB", 1))
		case *nn.Softmax:
			if rank != 2 {
				return nil, fmt.Errorf("onnx: %s: softmax of %v samples, not vectors", name, shape)
			}
			cur = g.node("Softmax", name, []string{cur}, intAttr("axis", 1))
			probs = i == len(f.Layers())-1
		case *nn.AlphaDropout, *nn.Dropout:
			// The identity at inference.
		default:
			return nil, fmt.Errorf("onnx: layer %s of kind %s has no ONNX form here", name, l.Kind())
		}
		shape = f.Shape(i)
	}
	out := f.OutputShape()
	if out.H != 1 || out.W != 1 {
		return nil, fmt.Errorf("onnx: the network's output %v is not a vector", out)
	}
	if probs {
		g.rename(cur, ProbabilitiesName)
	} else {
		g.rename(cur, LogitsName)
		g.node("Softmax", "softmax", []string{LogitsName}, intAttr("axis", 1))
		g.rename(g.last(), ProbabilitiesName)
		g.Output = append(g.Output, valueInfo(LogitsName, -1, out.C))
	}
	g.Output = append(g.Output, valueInfo(ProbabilitiesName, -1, out.C))

	mp := &onnxpb.ModelProto{
		IrVersion:    proto.Int64(IRVersion),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		ProducerName: proto.String("snn"),
		DocString:    proto.String(o.DocString),
		Graph:        g.GraphProto,
	}
	if len(o.ClassNames) > 0 {
		b, err := json.Marshal(o.ClassNames)
		if err != nil {
			return nil, err
		}
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(ClassNamesKey), Value: proto.String(string(b))})
	}
	return mp, nil
}

type graph struct {
	*onnxpb.GraphProto
}

// node appends a node whose output is named after it, and returns that
// name.
func (g *graph) node(op, name string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	out := name + ".out"
	g.Node = append(g.Node, &onnxpb.NodeProto{
		OpType: proto.String(op), Name: proto.String(name),
		Input: inputs, Output: []string{out}, Attribute: attrs,
	})
	return out
}

// withParams adds a layer's kernel and bias (if any) as initializers and
// returns the inputs of its node: the previous output, then those.
func (g *graph) withParams(cur string, ps []*nn.Param) []string {
	inputs := []string{cur}
	for _, p := range ps[:min(len(ps), 2)] {
		g.param(p)
		inputs = append(inputs, p.Name)
	}
	return inputs
}

func (g *graph) last() string { return g.Node[len(g.Node)-1].Output[0] }

// rename gives the value produced as from the name to (a graph output).
func (g *graph) rename(from, to string) {
	for _, n := range g.Node {
		for i, o := range n.Output {
			if o == from {
				n.Output[i] = to
			}
		}
		for i, in := range n.Input {
			if in == from {
				n.Input[i] = to
			}
		}
	}
}

func (g *graph) param(p *nn.Param) { g.initializer(p.Name, p.Value, p.Shape...) }

// initializer adds a constant float tensor, its values little-endian in
// raw_data as ONNX defines it.
func (g *graph) initializer(name string, v []float32, dims ...int) {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	d := make([]int64, len(dims))
	for i, x := range dims {
		d[i] = int64(x)
	}
	g.Initializer = append(g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: d, RawData: raw,
	})
}

// valueInfo describes a float tensor; a dimension < 0 is the free batch
// dimension N.
func valueInfo(name string, dims ...int) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnxpb.TensorShapeProto_Dimension{}
		if d < 0 {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		} else {
			dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: shape,
		}}},
	}
}

func intsAttr(name string, v ...int) *onnxpb.AttributeProto {
	l := make([]int64, len(v))
	for i, x := range v {
		l[i] = int64(x)
	}
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: l}
}

func intAttr(name string, v int) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(v))}
}

func floatAttr(name string, v float64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(float32(v))}
}
