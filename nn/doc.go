// Package nn is snn's trainer: sequential networks of convolutions,
// pooling, dense layers and activations on float32 NCHW batches, with the
// initializers, constraints, optimizers, losses and metrics of Keras, a
// training loop that resumes exactly, and a monitor of the
// self-normalizing property.
//
// It exists for one network. A deep SELU CNN with LeCun-normal weights,
// SeedNet here, can fail to learn unless its kernels are kept centred
// (W <- W - mean(W) after every optimizer step); NewSeedNet builds it,
// WeightCentralization is that constraint, and Monitor shows what happens
// to the activations' mean and variance layer by layer.
//
// # Models
//
// A Model is a list of layers built for one input shape:
//
//	m, err := nn.NewModel(nn.Shape{C: 1, H: 28, W: 28},
//		&nn.Conv2D{Filters: 32, KernelSize: 3, Padding: nn.Same, Init: nn.LeCunNormal},
//		&nn.SELU{},
//		&nn.MaxPool2D{},
//		&nn.Flatten{},
//		&nn.Dense{Units: 10, Init: nn.LeCunNormal},
//	)
//	m.Init(seed)
//
// or, for the reference network, nn.NewSeedNet(nn.SeedNetConfig{...}).
// Convolutions run on package conv, Dense layers on gemm, activations on
// act; the model owns every buffer, sized by the largest batch it has
// seen, and lets element-wise layers overwrite their input when nothing
// else reads it. Kernels are stored unit by unit (Param.Unit): a Dense
// kernel is [Units][In], a convolution's [OutC][InC][KH][KW].
//
// # Keras semantics
//
// Where Keras defines a behaviour, nn follows it: LeCunNormal and
// HeNormal are truncated normals with Keras' 0.87962566103423978
// correction, GlorotUniform is the default initializer and biases start
// at zero; AlphaDropout sets dropped units to -Lambda*Alpha and applies
// the affine correction; CrossEntropy after a Softmax layer clips
// probabilities to [1e-7, 1-1e-7] as from_logits=False does, while
// SoftmaxCrossEntropy takes logits; Adam (eps outside the square root,
// bias correction in the step size), Adadelta and SGD (momentum,
// Nesterov) update as Keras' optimizers do, with Keras' defaults from
// NewAdam, NewAdadelta and NewSGD. Each update is one fused pass per
// parameter through kernels.Active().Optim. Constraints run after every
// update, on kernels only, like kernel_constraint; weight decay is L2 on
// kernels (a Keras l2(l) regularizer is WeightDecay = 2*l).
//
// # Training
//
// A Trainer couples a model, a loss and an optimizer. TrainBatch is one
// step; Fit loops over a Dataset in epochs, each visiting the samples in
// the order Permutation(seed, epoch), calling FitConfig.OnStep after every
// step with the loss, top-1/top-5 on the batch, the learning rate and the
// throughput, evaluating a validation set, running the Monitor and writing
// checkpoints. Cancelling Fit's context stops it after the step in
// progress and writes a checkpoint, from which Trainer.Load and Fit
// continue exactly where it stopped.
//
// A step whose loss is not finite is not applied: TrainBatch returns a
// *NonFiniteError naming the step and the first layer whose output held a
// NaN or an infinity, and Fit returns it without writing a checkpoint;
// Save refuses non-finite weights, so the last good checkpoint stays.
//
// After its first call with a batch size, TrainBatch allocates nothing.
//
// # Determinism
//
// Results are the same bit for bit for the same seed and data order,
// whatever GOMAXPROCS and Model.SetThreads are: convolutions, GEMMs and
// every reduction here split work independently of the thread count. The
// random numbers are counter-based streams (SplitMix64 keyed by the seed
// and a purpose): a layer's initial weights depend on the seed and the
// layer's index, an epoch's order on the seed and the epoch, a dropout
// mask on the seed, the step and the layer. The state a checkpoint keeps
// is therefore just the seed and the counters, and a resumed run draws
// exactly the numbers an uninterrupted one would.
//
// # Data
//
// A Dataset gives samples by index into buffers the trainer owns; Tensors
// holds one in memory. Loaders that decode images implement Prefetcher to
// learn the next batch's indices while the trainer works on the current
// one.
//
// # Checkpoints
//
// Trainer.Save writes the parameters, the optimizer's state, the step, the
// position in the data and the seed to a versioned file with a CRC-32C
// checksum, atomically (a temporary file, fsync, rename). ReadCheckpoint
// reports a truncated or damaged file as an error wrapping ErrCorrupt.
// Checkpoint.Extra and Checkpoint.Sections carry the caller's data: input
// standardization statistics, the command line's configuration.
//
// # Inference
//
// Load reads a checkpoint that describes its network (SeedNetSection,
// ClassNamesSection: snn train writes both) into a Predictor, which
// standardizes its inputs as the training run did and returns class
// probabilities. It is safe for concurrent use and allocates nothing per
// call once warm; package onnx writes the same network as an ONNX model.
//
// # Monitor
//
// Monitor.Measure runs the model in evaluation mode on a fixed batch and
// reports, for every layer, the mean and variance of its output, and for
// every parameter its mean, variance and gradient norm. Probes add
// statistics per layer: UnitStats adds the minimum, median and maximum
// over units of omega (the sum of a unit's incoming weights) and tau (the
// sum of their squares), the quantities of the self-normalizing fixed
// point. A per-unit constraint (the Constraint interface over
// Param.Unit) can hold omega at 0 and tau at 1.
//
// # Normalization
//
// Two ways keep activations normalized during training where weight-only
// constraints cannot (the variance of a unit's pre-activation is
// w^T Sigma w, which depends on the data). DataNorm, a BatchConstraint the
// Trainer runs after the update, rescales every unit of every Conv2D and
// Dense layer so that its pre-activation on the step's batch has mean 0
// and variance 1, layer by layer with the current weights; the model stays
// a plain network. With ScaleLR (each unit's learning rate follows its
// rescales) and CentreGrad (its gradient follows the bias the rescale
// sets), every 4 steps and after each of the first 200, it kept every
// layer of SeedNet in band and trained it as well as ReLU or better on
// MNIST and on a 64 x 64 canvas (docs/findings.md). BatchNorm is Keras' layer, with moving statistics that
// checkpoints keep (Model.State); Model.Fold merges it into the layer
// before it for inference.
package nn
