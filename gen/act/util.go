package main

import (
	"fmt"
	"math"
)

func f32bits(f float32) uint32 { return math.Float32bits(f) }

func hex32(b uint32) string { return fmt.Sprintf("%08x", b) }

func itoa(i int) string { return fmt.Sprint(i) }
