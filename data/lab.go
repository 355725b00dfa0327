package data

import "math"

// CIE Lab lightness from sRGB. Greyscale for snn means L*, the perceptual
// lightness of CIE 1976 L*a*b* under D65, scaled from [0, 100] to [0, 1]:
// it depends only on the luminance Y, so
//
//	Y  = 0.2126729 R + 0.7151522 G + 0.0721750 B   (linear sRGB, D65;
//	                                               the Y row of the sRGB
//	                                               to XYZ matrix)
//	L* = 116 f(Y) - 16,  f(t) = t^(1/3) for t > (6/29)^3,
//	                     f(t) = t/(3 (6/29)^2) + 4/29 below.

// The luminance weights of linear sRGB primaries under D65.
const (
	lumR = 0.2126729
	lumG = 0.7151522
	lumB = 0.0721750
)

// srgbLinear maps an 8-bit sRGB value to linear light in [0, 1].
var srgbLinear [256]float64

func init() {
	for i := range srgbLinear {
		srgbLinear[i] = SRGBToLinear(float64(i) / 255)
	}
}

// SRGBToLinear undoes the sRGB transfer curve of a value in [0, 1].
func SRGBToLinear(v float64) float64 {
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

// LightnessFromY returns L*/100 for a relative luminance Y in [0, 1].
func LightnessFromY(y float64) float64 {
	const d = 6.0 / 29
	if y > d*d*d {
		return (116*math.Cbrt(y) - 16) / 100
	}
	// The linear part, 116 (y/(3 d^2) + 4/29) - 16, simplified to its
	// slope (29/3)^3: written as the sum it cancels 16 - 16, which a
	// fused multiply-add (arm64) leaves as -1e-16 for black.
	return y * (116 / (3 * d * d)) / 100
}

// Lightness returns L*/100 of an 8-bit sRGB colour.
func Lightness(r, g, b uint8) float64 {
	y := lumR*srgbLinear[r] + lumG*srgbLinear[g] + lumB*srgbLinear[b]
	return LightnessFromY(y)
}

// Lightness16 is Lightness for 16-bit channels (as image.Color.RGBA
// returns them), interpolating the curve exactly rather than through the
// 8-bit table.
func Lightness16(r, g, b uint32) float64 {
	y := lumR*SRGBToLinear(float64(r)/0xffff) +
		lumG*SRGBToLinear(float64(g)/0xffff) +
		lumB*SRGBToLinear(float64(b)/0xffff)
	return LightnessFromY(y)
}
