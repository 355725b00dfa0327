package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// IDX is the content of an IDX file of unsigned bytes (the format of the
// MNIST files): the dimensions and the data, row-major.
type IDX struct {
	Dims []int
	Data []byte
}

// maxIDXBytes bounds what a header may claim, so a corrupt header cannot
// make the loader allocate without limit.
const maxIDXBytes = 1 << 32

// ReadIDXFile reads an IDX file of unsigned bytes, gzip-compressed or not.
func ReadIDXFile(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx, err := ReadIDX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return idx, nil
}

// ReadIDX reads an IDX stream of unsigned bytes, gzip-compressed or not.
// Errors say what is wrong: a bad magic number, an element type other than
// unsigned byte, fewer data bytes than the header promises, bytes after
// them, or a gzip stream whose checksum fails. Memory grows with the data
// that arrives, not with what the header claims.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	compressed := false
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
		compressed = true
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("not an IDX file: %d-byte header missing (%w)", len(magic), eofErr(err))
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("not an IDX file: magic %#x does not start with two zero bytes", magic)
	}
	if magic[2] != 0x08 {
		return nil, fmt.Errorf("IDX element type %#02x is not unsigned byte (0x08)", magic[2])
	}
	nd := int(magic[3])
	if nd == 0 {
		return nil, errors.New("IDX header has no dimensions")
	}
	dims := make([]int, nd)
	total := 1
	for i := range dims {
		var d uint32
		if err := binary.Read(br, binary.BigEndian, &d); err != nil {
			return nil, fmt.Errorf("IDX header truncated in dimension %d of %d (%w)", i+1, nd, eofErr(err))
		}
		dims[i] = int(d)
		// Divided, not multiplied: the product of 32-bit dimensions
		// can overflow int.
		if d > 0 && total > maxIDXBytes/int(d) {
			return nil, fmt.Errorf("IDX header claims more than %d bytes of data", maxIDXBytes)
		}
		total *= max(int(d), 1)
	}
	for _, d := range dims {
		if d == 0 {
			total = 0
		}
	}
	buf, err := readGrowing(br, total)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("IDX data truncated: header %v promises %d bytes, found %d (%w)", dims, total, len(buf), eofErr(err))
		}
		return nil, fmt.Errorf("IDX data unreadable after %d of %d bytes: %w", len(buf), total, err)
	}
	// A gzip stream's checksum and length are checked only when it is
	// read to its end: without this read a damaged file would pass.
	var one [1]byte
	switch _, err := io.ReadFull(br, one[:]); {
	case err == io.EOF:
	case err == nil:
		return nil, fmt.Errorf("trailing data after the %d bytes the IDX header %v promises", total, dims)
	case errors.Is(err, gzip.ErrChecksum):
		return nil, fmt.Errorf("gzip checksum mismatch: the data is corrupt (%w)", err)
	case compressed && errors.Is(err, gzip.ErrHeader):
		return nil, fmt.Errorf("trailing garbage after the gzip stream (%w)", err)
	case compressed:
		return nil, fmt.Errorf("gzip stream damaged or truncated after the %d bytes of IDX data (%w)", total, eofErr(err))
	default:
		return nil, fmt.Errorf("reading past the %d bytes of IDX data: %w", total, err)
	}
	return &IDX{Dims: dims, Data: buf}, nil
}

// readGrowing reads n bytes from r into a buffer that doubles as data
// arrives, so that a header promising gigabytes a file does not hold costs
// about what the file holds. It returns what it read and the first error.
func readGrowing(r io.Reader, n int) ([]byte, error) {
	const first = 1 << 20
	buf := make([]byte, 0, min(n, first))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), len(buf)))
		}
		m, err := io.ReadFull(r, buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// eofErr turns io's EOF errors into a readable word.
func eofErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of file")
	}
	return err
}
