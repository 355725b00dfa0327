package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// TestWrapTitle: a title breaks at spaces into lines that fit the width,
// keeping every word in order; a short one stays on one line.
func TestWrapTitle(t *testing.T) {
	sty := plot.New().Title.TextStyle
	long := "mnist 64x64 selu + datanorm every 4 (learning rates scaled) (gradients centred) (every step to step 200): activation variance per layer (1 is the SELU fixed point)"
	cases := []struct {
		name  string
		title string
		w     vg.Length
		lines int // at least
	}{
		{"short", "loss", 16 * vg.Centimeter, 1},
		{"long, wide plot", long, 16 * vg.Centimeter, 2},
		{"long, narrow plot", long, 6 * vg.Centimeter, 4},
		{"one word wider than the plot", "supercalifragilistic", vg.Centimeter, 1},
	}
	for _, c := range cases {
		got := wrapTitle(sty, c.title, c.w)
		lines := strings.Split(got, "\n")
		assert.GreaterOrEqual(t, len(lines), c.lines, c.name)
		assert.Equal(t, strings.Fields(c.title), strings.Fields(got), "%s: the words, in order", c.name)
		for _, l := range lines {
			if strings.Contains(l, " ") {
				assert.LessOrEqual(t, sty.Width(l), c.w, "%s: %q fits", c.name, l)
			}
		}
		if c.lines == 1 && !strings.Contains(c.title, " ") {
			assert.Equal(t, c.title, got, c.name)
		}
	}
	assert.Equal(t, "loss", wrapTitle(sty, "loss", 16*vg.Centimeter))
}

func TestDataName(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Size: 28}, "mnist"},
		{Config{Size: 64}, "mnist 64x64"},
		{Config{Size: 64, PlacesTrain: "train.txt"}, "places365"},
		{Config{Size: 32, Folder: "/data/shapes"}, "shapes"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, dataName(c.cfg))
	}
}
