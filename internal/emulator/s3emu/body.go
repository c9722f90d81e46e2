package s3emu

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// payload is a request body after transfer decoding and integrity checks.
type payload struct {
	data []byte
	// checksums holds the flexible checksums the client sent and the server
	// verified, by algorithm (crc32, crc32c, crc64nvme, sha1, sha256), base64.
	checksums map[string]string
	// contentEncoding is Content-Encoding without aws-chunked.
	contentEncoding string
}

// crc64NVME is the CRC-64/NVME polynomial (reversed form) that S3 calls CRC64NVME.
const crc64NVME = 0x9a6c9329ac4bc9b5

// checksumAlgorithms are the flexible checksums S3 verifies. [fact: S3 docs]
var checksumAlgorithms = map[string]func() hash.Hash{
	"crc32":     func() hash.Hash { return crc32.NewIEEE() },
	"crc32c":    func() hash.Hash { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) },
	"crc64nvme": func() hash.Hash { return crc64.New(crc64.MakeTable(crc64NVME)) },
	"sha1":      sha1.New,
	"sha256":    sha256.New,
}

// checksumOf returns the base64 checksum S3 would report for data.
func checksumOf(alg string, data []byte) string {
	h := checksumAlgorithms[alg]()
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// readPayload reads and checks a request body: aws-chunked decoding for streaming
// uploads, the x-amz-content-sha256 hash when one is signed, Content-MD5 and the
// flexible checksums in headers or trailers.
func readPayload(r *http.Request, c caller, limit int64) (payload, *s3Error) {
	var p payload
	var encodings []string
	for _, v := range r.Header.Values("Content-Encoding") {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
				encodings = append(encodings, e)
			}
		}
	}
	p.contentEncoding = strings.Join(encodings, ",")

	sent := map[string]string{}
	for name, vals := range r.Header {
		lname := strings.ToLower(name)
		if alg, ok := strings.CutPrefix(lname, "x-amz-checksum-"); ok && checksumAlgorithms[alg] != nil && len(vals) > 0 {
			sent[alg] = vals[0]
		}
	}

	if strings.HasPrefix(c.PayloadHash, "STREAMING-") {
		data, trailers, perr := readChunkedPayload(r, limit)
		if perr != nil {
			return p, perr
		}
		p.data = data
		for _, declared := range r.Header.Values("X-Amz-Trailer") {
			for name := range strings.SplitSeq(declared, ",") {
				name = strings.ToLower(strings.TrimSpace(name))
				if name == "" {
					continue
				}
				v, ok := trailers[name]
				if !ok {
					return p, newErrMsg("InvalidRequest", "the aws-chunked body lacks the trailer "+quoteShort(name)+" that X-Amz-Trailer declares")
				}
				if alg, ok := strings.CutPrefix(name, "x-amz-checksum-"); ok && checksumAlgorithms[alg] != nil {
					sent[alg] = v
				}
			}
		}
	} else {
		data, perr := readPlainPayload(r, limit)
		if perr != nil {
			return p, perr
		}
		p.data = data
		if h := c.PayloadHash; isLowerHex(strings.ToLower(h), 64) {
			sum := sha256.Sum256(data)
			if !strings.EqualFold(hex.EncodeToString(sum[:]), h) {
				return p, newErr("XAmzContentSHA256Mismatch")
			}
		}
	}

	if md := r.Header.Get("Content-Md5"); md != "" {
		want, err := base64.StdEncoding.DecodeString(md)
		if err != nil || len(want) != md5.Size {
			return p, newErr("InvalidDigest")
		}
		got := md5.Sum(p.data)
		if !bytes.Equal(got[:], want) {
			return p, newErr("BadDigest")
		}
	}
	if len(sent) > 0 {
		p.checksums = map[string]string{}
	}
	for alg, v := range sent {
		if checksumOf(alg, p.data) != strings.TrimSpace(v) {
			return p, newErrMsg("BadDigest", "The "+strings.ToUpper(alg)+" you specified did not match the calculated checksum.")
		}
		p.checksums[alg] = strings.TrimSpace(v)
	}
	return p, nil
}

func readChunkedPayload(r *http.Request, limit int64) ([]byte, map[string]string, *s3Error) {
	declared := r.Header.Get("X-Amz-Decoded-Content-Length")
	want, err := strconv.ParseInt(declared, 10, 64)
	if err != nil || want < 0 {
		return nil, nil, &s3Error{Code: "MissingContentLength", HeaderName: "x-amz-decoded-content-length",
			Message: "an aws-chunked upload needs a valid X-Amz-Decoded-Content-Length header"}
	}
	if want > limit {
		return nil, nil, &s3Error{Code: "EntityTooLarge", AllowedMaxBytes: limit}
	}
	data, trailers, err := decodeAWSChunked(r.Body, limit)
	if errors.Is(err, errChunkTooLarge) {
		return nil, nil, &s3Error{Code: "EntityTooLarge", AllowedMaxBytes: limit}
	}
	if err != nil {
		return nil, nil, newErrMsg("IncompleteBody", err.Error())
	}
	if int64(len(data)) != want {
		return nil, nil, newErrMsg("IncompleteBody", "the decoded aws-chunked body is "+strconv.Itoa(len(data))+" bytes, not the "+strconv.FormatInt(want, 10)+" that X-Amz-Decoded-Content-Length says")
	}
	return data, trailers, nil
}

func readPlainPayload(r *http.Request, limit int64) ([]byte, *s3Error) {
	if r.ContentLength > limit {
		return nil, &s3Error{Code: "EntityTooLarge", AllowedMaxBytes: limit}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, newErrMsg("IncompleteBody", "could not read the request body")
	}
	if int64(len(data)) > limit {
		return nil, &s3Error{Code: "EntityTooLarge", AllowedMaxBytes: limit}
	}
	if r.ContentLength >= 0 && int64(len(data)) != r.ContentLength {
		return nil, newErr("IncompleteBody")
	}
	return data, nil
}
