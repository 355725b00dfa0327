package data

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadIDXHugeClaimAllocatesLittle(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		dims []int
		want string
	}{
		{"count", []int{3 << 30}, "header [3221225472] promises 3221225472 bytes, found 10"},
		{"images", []int{1 << 22, 28, 28}, "header [4194304 28 28] promises 3288334336 bytes, found 10"},
	} {
		for _, compress := range []bool{false, true} {
			file := idxBytes(tc.dims, []byte("0123456789"))
			path := filepath.Join(dir, tc.name)
			if compress {
				file, path = gz(file), path+".gz"
			}
			require.NoError(t, os.WriteFile(path, file, 0o644))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ReadIDXFile(path)
			runtime.ReadMemStats(&after)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path+": IDX data truncated: "+tc.want)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(4<<20), "bytes allocated for %s", path)
		}
	}
}

// A gzip stream is read to its end: a flipped byte anywhere after the
// gzip header fails the checksum or the decompression, and bytes after
// the data are an error.
func TestReadIDXGzipIsVerified(t *testing.T) {
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i * i / 7)
	}
	good := idxBytes([]int{3, 10, 10}, data)
	z := gz(good)
	kinds := map[string]int{}
	for p := 10; p < len(z); p++ {
		bad := bytes.Clone(z)
		bad[p] ^= 0xff
		_, err := ReadIDX(bytes.NewReader(bad))
		require.Error(t, err, "byte %d of %d flipped", p, len(z))
		kind := ""
		for _, k := range []string{"gzip checksum mismatch", "IDX data unreadable after", "IDX data truncated", "gzip stream damaged", "not an IDX file", "element type", "IDX header claims more than"} {
			if strings.Contains(err.Error(), k) {
				kind = k
			}
		}
		require.NotEmpty(t, kind, "byte %d flipped: %v", p, err)
		kinds[kind]++
	}
	// Most flips decompress to other bytes, which only the checksum
	// catches; some break the deflate stream itself.
	assert.Greater(t, kinds["gzip checksum mismatch"], len(z)/2, kinds)
	assert.Positive(t, kinds["IDX data unreadable after"], kinds)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		file []byte
		err  string
	}{
		{"good", z, ""},
		{"two members", append(gz(good[:100]), gz(good[100:])...), ""},
		{"flipped crc", append(bytes.Clone(z[:len(z)-8]), append([]byte{z[len(z)-8] ^ 1}, z[len(z)-7:]...)...), "gzip checksum mismatch: the data is corrupt"},
		{"trailing garbage", append(bytes.Clone(z), "garbage!!!!"...), "trailing garbage after the gzip stream"},
		{"trailing zeros", append(bytes.Clone(z), make([]byte, 16)...), "trailing garbage after the gzip stream"},
		{"trailing byte", append(bytes.Clone(z), 0), "gzip stream damaged or truncated after the 300 bytes of IDX data (unexpected end of file)"},
		{"trailing member", append(bytes.Clone(z), gz([]byte{1})...), "trailing data after the 300 bytes the IDX header [3 10 10] promises"},
		{"trailing plain", append(bytes.Clone(good), 7), "trailing data after the 300 bytes the IDX header [3 10 10] promises"},
		{"cut trailer", z[:len(z)-3], "gzip stream damaged or truncated after the 300 bytes of IDX data (unexpected end of file)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-"))
			require.NoError(t, os.WriteFile(path, tc.file, 0o644))
			idx, err := ReadIDXFile(path)
			if tc.err == "" {
				require.NoError(t, err)
				assert.Equal(t, data, idx.Data)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), path+": "+tc.err)
		})
	}
}
