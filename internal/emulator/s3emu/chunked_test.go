package s3emu

import (
	"bytes"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// encodeAWSChunked is the test's own encoder, for round trips.
func encodeAWSChunked(data []byte, chunk int, trailers map[string]string, signed bool) []byte {
	var b bytes.Buffer
	sig := ""
	if signed {
		sig = ";chunk-signature=" + strings.Repeat("ab", 32)
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		fmt.Fprintf(&b, "%x%s\r\n%s\r\n", n, sig, data[:n])
		data = data[n:]
	}
	fmt.Fprintf(&b, "0%s\r\n", sig)
	for _, k := range slices.Sorted(maps.Keys(trailers)) {
		fmt.Fprintf(&b, "%s:%s\r\n", k, trailers[k])
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

func TestDecodeAWSChunked(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		data     string
		trailers map[string]string
		err      string
	}{
		// The aws-sdk-go-v2 example (service/internal/checksum/aws_chunked_encoding.go).
		{name: "go sdk", in: "b\r\nHello world\r\n0\r\nx-amz-checksum-sha256:ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=\r\n\r\n",
			data: "Hello world", trailers: map[string]string{"x-amz-checksum-sha256": "ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="}},
		// botocore's AwsChunkedWrapper writes the same framing.
		{name: "botocore two chunks", in: "3\r\nabc\r\n2\r\nde\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n",
			data: "abcde", trailers: map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}},
		{name: "signed chunks", in: "5;chunk-signature=" + strings.Repeat("0", 64) + "\r\nhello\r\n0;chunk-signature=" + strings.Repeat("1", 64) + "\r\n\r\n",
			data: "hello", trailers: map[string]string{}},
		{name: "empty body", in: "0\r\n\r\n", data: "", trailers: map[string]string{}},
		{name: "ends after the final chunk", in: "1\r\nx\r\n0\r\n", data: "x", trailers: map[string]string{}},
		{name: "no size", in: "\r\nabc\r\n", err: "hex size"},
		{name: "bad hex", in: "zz\r\nabc\r\n", err: "hex size"},
		{name: "short chunk", in: "10\r\nabc", err: "ended inside a chunk"},
		{name: "chunk longer than declared", in: "2\r\nabc\r\n0\r\n\r\n", err: "longer than its declared size"},
		{name: "bare LF", in: "3\nabc\n0\n\n", err: "CRLF"},
		{name: "unknown extension", in: "3;foo=bar\r\nabc\r\n0\r\n\r\n", err: "unknown extension"},
		{name: "bad trailer", in: "0\r\nnot a trailer\r\n\r\n", err: "name:value"},
		{name: "duplicate trailer", in: "0\r\na:1\r\na:2\r\n\r\n", err: "twice"},
		{name: "data after trailers", in: "0\r\n\r\nextra", err: "after its trailers"},
		{name: "over the limit", in: "400\r\n" + strings.Repeat("x", 1024) + "\r\n0\r\n\r\n", err: "exceeds the size limit"},
		{name: "huge size", in: "7fffffffffffffff\r\n", err: "exceeds the size limit"},
		{name: "line too long", in: strings.Repeat("1", 5000) + "\r\n", err: "too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, trailers, err := decodeAWSChunked(strings.NewReader(tc.in), 512)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != tc.data || !maps.Equal(trailers, tc.trailers) {
				t.Errorf("got %q %v, want %q %v", data, trailers, tc.data, tc.trailers)
			}
		})
	}
}

// TestReadPayloadChunked checks the request-level checks around the decoder.
func TestReadPayloadChunked(t *testing.T) {
	body := []byte("chunked object body")
	good := encodeAWSChunked(body, 4, map[string]string{"x-amz-checksum-crc32": checksumOf("crc32", body)}, false)
	c := caller{PayloadHash: payloadStreamingUnsignedTrlr}
	mk := func(enc []byte, decoded int, trailer string) *http.Request {
		r, _ := http.NewRequest(http.MethodPut, "http://x/b/k", bytes.NewReader(enc))
		r.Header.Set("Content-Encoding", "gzip,aws-chunked")
		r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(decoded))
		if trailer != "" {
			r.Header.Set("X-Amz-Trailer", trailer)
		}
		return r
	}
	p, perr := readPayload(mk(good, len(body), "x-amz-checksum-crc32"), c, 1<<20)
	if perr != nil || string(p.data) != string(body) || p.contentEncoding != "gzip" || p.checksums["crc32"] != checksumOf("crc32", body) {
		t.Fatalf("good body: %v %+v", perr, p)
	}
	for _, tc := range []struct {
		name string
		req  *http.Request
		code string
	}{
		{"decoded length differs", mk(good, len(body)+1, ""), "IncompleteBody"},
		{"declared trailer missing", mk(encodeAWSChunked(body, 4, nil, false), len(body), "x-amz-checksum-crc32"), "InvalidRequest"},
		{"trailer checksum wrong", mk(encodeAWSChunked(body, 4, map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}, false), len(body), "x-amz-checksum-crc32"), "BadDigest"},
		{"no decoded length", func() *http.Request { r := mk(good, 0, ""); r.Header.Del("X-Amz-Decoded-Content-Length"); return r }(), "MissingContentLength"},
		{"garbled framing", mk([]byte("zz\r\n"), 2, ""), "IncompleteBody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, perr := readPayload(tc.req, c, 1<<20); perr == nil || perr.Code != tc.code {
				t.Errorf("got %v, want %s", perr, tc.code)
			}
		})
	}
	if _, perr := readPayload(mk(good, len(body), ""), c, 4); perr == nil || perr.Code != "EntityTooLarge" {
		t.Errorf("over the limit: %v", perr)
	}
}

// FuzzDecodeAWSChunked: no panic, the limit holds, and what decodes re-encodes to
// something that decodes the same.
func FuzzDecodeAWSChunked(f *testing.F) {
	f.Add([]byte("b\r\nHello world\r\n0\r\nx-amz-checksum-sha256:ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw=\r\n\r\n"))
	f.Add([]byte("3\r\nabc\r\n2\r\nde\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"))
	f.Add([]byte("5;chunk-signature=" + strings.Repeat("0", 64) + "\r\nhello\r\n0;chunk-signature=" + strings.Repeat("1", 64) + "\r\n\r\n"))
	f.Add([]byte("0\r\n\r\n"))
	f.Add([]byte("ffffffff\r\n"))
	f.Add([]byte("1\r\nx\r\n0\r\na:b\r\n"))
	const limit = 4096
	f.Fuzz(func(t *testing.T, in []byte) {
		data, trailers, err := decodeAWSChunked(bytes.NewReader(in), limit)
		if err != nil {
			return
		}
		if len(data) > limit {
			t.Fatalf("decoded %d bytes past the %d limit", len(data), limit)
		}
		again, trailers2, err := decodeAWSChunked(bytes.NewReader(encodeAWSChunked(data, 7, trailers, false)), limit)
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v", err)
		}
		if !bytes.Equal(again, data) || !maps.Equal(trailers, trailers2) {
			t.Fatalf("round trip changed the body or trailers")
		}
	})
}
