// Package bounds is the size arithmetic of argument checks, done so that
// it cannot overflow: a product or an offset that wraps around int's range
// would let a huge size or stride pass a check and reach memory.
//
// The functions assume what every check establishes first: sizes are not
// negative and a stride is at least the row it separates.
package bounds

import (
	"math"
	"math/big"
)

// Fits reports whether rows rows of cols elements, ld apart, lie within n
// elements: (rows-1)*ld + cols <= n, or nothing at all when rows or cols
// is 0. It needs rows, cols >= 0 and, when rows > 1, ld >= cols.
func Fits(rows, cols, ld, n int) bool {
	switch {
	case rows <= 0 || cols <= 0:
		return true
	case cols > n:
		return false
	case rows == 1:
		return true
	}
	return rows-1 <= (n-cols)/ld
}

// Fits2 reports whether a*sa + b*sb + last <= n, for non-negative
// arguments: the extent of a two-level layout (panels of rows).
func Fits2(a, sa, b, sb, last, n int) bool {
	n -= last
	if n < 0 {
		return false
	}
	if a > 0 && sa > 0 {
		if a > n/sa {
			return false
		}
		n -= a * sa
	}
	return b <= 0 || sb <= 0 || b <= n/sb
}

// Mul returns a*b and whether it fits in an int, for a, b >= 0.
func Mul(a, b int) (int, bool) {
	if a != 0 && b > math.MaxInt/a {
		return 0, false
	}
	return a * b, true
}

// IsProduct reports whether n == a*b exactly, for a, b >= 0; a product
// beyond int's range equals no int.
func IsProduct(n, a, b int) bool {
	if b == 0 {
		return n == 0
	}
	return n >= 0 && n%b == 0 && n/b == a
}

// Span returns (rows-1)*ld + cols in decimal, exact even where it exceeds
// int's range, for messages. rows >= 1.
func Span(rows, cols, ld int) string {
	s := new(big.Int).Mul(big.NewInt(int64(rows-1)), big.NewInt(int64(ld)))
	return s.Add(s, big.NewInt(int64(cols))).String()
}

// Dot returns x0*x1 + x2*x3 + ... in decimal, exact whatever its size,
// for messages.
func Dot(xs ...int) string {
	s, t := new(big.Int), new(big.Int)
	for i := 0; i+1 < len(xs); i += 2 {
		s.Add(s, t.Mul(big.NewInt(int64(xs[i])), big.NewInt(int64(xs[i+1]))))
	}
	return s.String()
}

// Product returns the product of xs in decimal, exact whatever its size,
// for messages.
func Product(xs ...int) string {
	p := big.NewInt(1)
	for _, x := range xs {
		p.Mul(p, big.NewInt(int64(x)))
	}
	return p.String()
}
