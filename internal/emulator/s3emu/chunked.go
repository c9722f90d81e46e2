package s3emu

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits on the framing of an aws-chunked body; the data itself is bounded by the
// caller's limit.
const (
	maxChunkLineLen = 4 << 10 // chunk header or trailer line
	maxTrailers     = 16
)

// errChunkTooLarge says the decoded body would exceed the caller's limit.
var errChunkTooLarge = errors.New("the decoded aws-chunked body exceeds the size limit")

// decodeAWSChunked decodes an aws-chunked body:
//
//	<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;chunk-signature=<sig>]\r\n
//	[<trailer name>:<value>\r\n …]\r\n
//
// It returns the data and the trailers (names lower-cased). Chunk signatures and
// x-amz-trailer-signature are read but not verified: the emulator checks only the
// seed signature of STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) uploads.
// Errors never quote the body.
func decodeAWSChunked(r io.Reader, limit int64) ([]byte, map[string]string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var data bytes.Buffer
	for {
		line, err := readCRLFLine(br)
		if err != nil {
			return nil, nil, fmt.Errorf("could not read an aws-chunked chunk header: %w", err)
		}
		sizeHex, ext, _ := strings.Cut(line, ";")
		if ext != "" && !strings.HasPrefix(ext, "chunk-signature=") {
			return nil, nil, errors.New("an aws-chunked chunk header has an unknown extension; only chunk-signature is allowed")
		}
		if sizeHex == "" || len(sizeHex) > 16 {
			return nil, nil, errors.New("an aws-chunked chunk header has no valid hex size")
		}
		size, err := strconv.ParseUint(sizeHex, 16, 63)
		if err != nil {
			return nil, nil, errors.New("an aws-chunked chunk header has no valid hex size")
		}
		if size == 0 {
			break
		}
		if int64(size) > limit-int64(data.Len()) {
			return nil, nil, errChunkTooLarge
		}
		if _, err := io.CopyN(&data, br, int64(size)); err != nil {
			return nil, nil, errors.New("the aws-chunked body ended inside a chunk")
		}
		if end, err := readCRLFLine(br); err != nil || end != "" {
			return nil, nil, errors.New("an aws-chunked chunk is longer than its declared size or lacks its closing CRLF")
		}
	}
	trailers, err := readTrailers(br)
	if err != nil {
		return nil, nil, err
	}
	return data.Bytes(), trailers, nil
}

// readTrailers reads name:value lines up to the empty line that ends the body.
// A body that ends right after the final chunk is accepted as having no trailers.
func readTrailers(br *bufio.Reader) (map[string]string, error) {
	trailers := map[string]string{}
	for {
		line, err := readCRLFLine(br)
		if err == io.EOF && len(trailers) == 0 {
			return trailers, nil
		}
		if err != nil {
			return nil, fmt.Errorf("could not read the aws-chunked trailers: %w", err)
		}
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || !isHeaderToken(name) {
			return nil, errors.New("an aws-chunked trailer is not name:value")
		}
		if _, dup := trailers[name]; dup {
			return nil, errors.New("an aws-chunked trailer appears twice")
		}
		if len(trailers) == maxTrailers {
			return nil, errors.New("the aws-chunked body has too many trailers")
		}
		trailers[name] = strings.TrimSpace(value)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, errors.New("the aws-chunked body has data after its trailers")
	}
	return trailers, nil
}

// readCRLFLine reads one line that must end in CRLF and returns it without CRLF.
// It returns io.EOF only when nothing at all was left to read.
func readCRLFLine(br *bufio.Reader) (string, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxChunkLineLen {
			return "", errors.New("line too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(line) == 0 {
			return "", io.EOF
		}
		if err != nil {
			return "", errors.New("unexpected end of body")
		}
		break
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return "", errors.New("line does not end in CRLF")
	}
	return string(line[:len(line)-2]), nil
}
