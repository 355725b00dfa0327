package kernels

func convGeneric() Conv { return checkedConv(shiftGeneric, gatherGeneric, pool2Generic, nil) }

func unpackGeneric(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	for i := 0; i < rows; i++ {
		row := dst[i*ldd : i*ldd+cols]
		for j := range row {
			row[j] = src[j*lds+i]
		}
	}
}

func shiftGeneric(dst, src []float32, rows, w, stride, shift, lo, hi int) {
	for s := 0; s < rows; s++ {
		row := dst[s*w : (s+1)*w]
		clear(row[:lo])
		if lo < hi {
			base := s*stride + shift
			copy(row[lo:hi], src[base+lo:base+hi])
		}
		clear(row[hi:])
	}
}

func gatherGeneric(dst []float32, ld int, src []float32, plane, planes int, idx []int32, rows, w int) {
	for q := 0; q < planes; q++ {
		pl := src[q*plane : (q+1)*plane]
		for r := 0; r < rows; r++ {
			out := dst[(q*rows+r)*ld : (q*rows+r)*ld+w]
			for i, t := range idx[r*w : (r+1)*w] {
				v := float32(0)
				if uint(t) < uint(len(pl)) {
					v = pl[t]
				}
				out[i] = v
			}
		}
	}
}

func pool2Generic(y []float32, am []int32, x []float32, planes, h, w int) {
	oh, ow := h/2, w/2
	for q := 0; q < planes; q++ {
		plane := x[q*h*w : (q+1)*h*w]
		for o := 0; o < oh; o++ {
			for p := 0; p < ow; p++ {
				c := 2*o*w + 2*p
				best, bi := plane[c], c
				for _, i := range [3]int{c + 1, c + w, c + w + 1} {
					// Replace on greater or NaN, unless best is NaN.
					if v := plane[i]; (v > best || v != v) && best == best {
						best, bi = v, i
					}
				}
				j := (q*oh+o)*ow + p
				y[j] = best
				if am != nil {
					am[j] = int32(bi)
				}
			}
		}
	}
}
