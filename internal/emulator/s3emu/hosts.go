package s3emu

import (
	"net"
	"net/http"
	"strings"
)

// locate splits a request into bucket and key, virtual-host style when the Host is
// <bucket>.<one of Config.Domains>, path style (/bucket/key) otherwise.
func (s *Server) locate(r *http.Request) (bucket, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	if b, ok := s.virtualBucket(r.Host); ok {
		return b, path
	}
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// virtualBucket returns the bucket named by a virtual-host style Host header.
func (s *Server) virtualBucket(hostport string) (string, bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, d := range s.domains {
		if host == d {
			return "", false // the endpoint itself: path style
		}
	}
	for _, d := range s.domains { // longest first: bkt.s3.localhost is bkt, not bkt.s3
		if b, ok := strings.CutSuffix(host, "."+d); ok && b != "" {
			return b, true
		}
	}
	return "", false
}
