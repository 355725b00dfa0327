package net

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

func TestPhenoExperiment(t *testing.T) {
	if os.Getenv("PHENO") == "" {
		t.Skip()
	}
	size, _ := strconv.Atoi(os.Getenv("SIZE"))
	classes, _ := strconv.Atoi(os.Getenv("CLASSES"))
	steps, _ := strconv.Atoi(os.Getenv("STEPS"))
	wf, _ := strconv.Atoi(os.Getenv("WIDTH"))
	train := synthetic(1, 2000, classes, size, size)
	test := synthetic(2, 400, classes, size, size)
	for _, seed := range []uint64{1, 2} {
		for _, c := range []Constraint{nil, WeightCentralization{}} {
			m, err := NewSeedNet(SeedNetConfig{Height: size, Classes: classes, Constraint: c, Seed: seed,
				Filters: []int{wf, wf * 2, wf * 4, wf * 8}, Hidden: []int{wf * 16, wf * 16, wf * 16}})
			if err != nil {
				t.Fatal(err)
			}
			tr := NewTrainer(m, NewAdam(), seed)
			t0 := time.Now()
			var last []float64
			err = tr.Fit(context.Background(), train, FitConfig{BatchSize: 32, MaxSteps: int64(steps), Epochs: 100,
				OnStep: func(s StepStats) error {
					if s.Step%20 == 0 {
						last = append(last, s.Loss)
					}
					return nil
				}})
			if err != nil {
				t.Log(err)
			}
			ev, _ := Evaluate(m, nil, test, 100)
			t.Logf("seed %d constraint %v: %v losses %.3v (%v)", seed, c, ev, last, time.Since(t0))
		}
	}
	_ = fmt.Sprint()
}
