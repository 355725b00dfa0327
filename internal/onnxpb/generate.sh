#!/usr/bin/env bash
# Regenerates onnx.pb.go from onnx.proto. protoc-gen-go is built from the
# google.golang.org/protobuf version go.mod requires, so the output names the
# same version everywhere; protoc comes from the system (Debian's
# protobuf-compiler). Without protoc this is a notice, under SNN_CI=1 an error.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v protoc >/dev/null 2>&1; then
	if [ "${SNN_CI:-0}" = 1 ]; then
		echo "internal/onnxpb: protoc is missing (apt-get install protobuf-compiler)" >&2
		exit 1
	fi
	echo "internal/onnxpb: protoc not found, onnx.pb.go left as committed" >&2
	exit 0
fi
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
protoc --plugin=protoc-gen-go="$bin/protoc-gen-go" --go_out=. --go_opt=paths=source_relative \
	--go_opt=Monnx.proto=github.com/snnkit/snn/internal/onnxpb onnx.proto
