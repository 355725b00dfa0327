package conv

import (
	"os"
	"testing"

	"github.com/snnkit/snn/kernels"
	"github.com/stretchr/testify/require"
)

// TestKernelSet reads the variables that choose the kernels inside a test,
// which is what makes `go test` cache this package's results per value
// (kernels reads them at init, which the cache does not see), and fails if
// the kernels in use are not the ones CI asked for.
func TestKernelSet(t *testing.T) {
	t.Logf("%s=%q: conv runs on %s", kernels.EnvISA, os.Getenv(kernels.EnvISA), kernels.Active().ISA)
	if want := os.Getenv("SNN_REQUIRE_ISA"); want != "" {
		require.Equal(t, want, kernels.Active().ISA)
	}
}
