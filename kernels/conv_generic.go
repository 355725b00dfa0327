package kernels

func convGeneric() Conv { return checkedConv(shiftGeneric, gatherGeneric) }

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
