//go:build purego

package kernels

func nativeSets() []*Set { return nil }

func whyNot(string) string { return "built with the purego tag" }
