package bounds

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

var edges = []int{0, 1, 2, 3, 4, 7, 1 << 31, 1<<62 - 1, 1 << 62, 1<<62 + 1, 1<<62 + 2, math.MaxInt - 1, math.MaxInt}

func b(x int) *big.Int { return big.NewInt(int64(x)) }

// TestAgainstBigInts compares every function with exact arithmetic on
// all combinations of values near the top of int's range.
func TestAgainstBigInts(t *testing.T) {
	for _, x := range edges {
		for _, y := range edges {
			p := new(big.Int).Mul(b(x), b(y))
			got, ok := Mul(x, y)
			require.Equal(t, p.IsInt64(), ok, "Mul(%d, %d)", x, y)
			if ok {
				require.Equal(t, p.Int64(), int64(got))
			}
			require.Equal(t, Product(x, y), p.String())
			for _, n := range edges {
				require.Equal(t, p.Cmp(b(n)) == 0, IsProduct(n, x, y), "IsProduct(%d, %d, %d)", n, x, y)
				for _, ld := range edges {
					if x > 1 && ld < y {
						continue // outside Fits's contract
					}
					span := new(big.Int).Mul(b(x-1), b(ld))
					span.Add(span, b(y))
					want := x == 0 || y == 0 || span.Cmp(b(n)) <= 0
					require.Equal(t, want, Fits(x, y, ld, n), "Fits(%d, %d, %d, %d)", x, y, ld, n)
					if x > 0 {
						require.Equal(t, span.String(), Span(x, y, ld))
					}
					sum := new(big.Int).Mul(b(x), b(y))
					sum.Add(sum, new(big.Int).Mul(b(ld), b(3)))
					sum.Add(sum, b(2))
					require.Equal(t, sum.Cmp(b(n)) <= 0, Fits2(x, y, ld, 3, 2, n), "Fits2(%d, %d, %d, 3, 2, %d)", x, y, ld, n)
					require.Equal(t, sum.String(), Dot(x, y, ld, 3, 2, 1))
				}
			}
		}
	}
}
