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
// unsigned byte, or fewer data bytes than the header promises.
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
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
		total *= max(int(d), 1)
		if total > maxIDXBytes {
			return nil, fmt.Errorf("IDX header claims more than %d bytes of data", maxIDXBytes)
		}
	}
	for _, d := range dims {
		if d == 0 {
			total = 0
		}
	}
	buf := make([]byte, total)
	n, err := io.ReadFull(br, buf)
	if err != nil {
		return nil, fmt.Errorf("IDX data truncated: header %v promises %d bytes, found %d (%w)", dims, total, n, eofErr(err))
	}
	return &IDX{Dims: dims, Data: buf}, nil
}

// eofErr turns io's EOF errors into a readable word.
func eofErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of file")
	}
	return err
}
