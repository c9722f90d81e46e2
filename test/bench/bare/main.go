// Command bare is the yardstick of scripts/bench-serve: a minimal net/http server
// that does what the credentials endpoint must do on its hot path and nothing
// else — a constant-time check of the Authorization token and the same response
// bytes with the same headers. cwcreds serve is measured against it.
//
// With -hardened it listens and serves with exactly the listener and http.Server
// settings of cwcreds serve (internal/server: connection limit, header, read,
// write and idle timeouts, header size cap), so that the gap between cwcreds and
// the bare server can be split into what those settings cost and what the
// endpoint's handler costs.
//
// Usage: bare -listen 127.0.0.1:0 -token-file F -body-file F [-addr-file F] [-hardened]
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/cwcreds/cwcreds/internal/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	tokenFile := flag.String("token-file", "", "file holding the Authorization token (no trailing newline)")
	bodyFile := flag.String("body-file", "", "file holding the response body to serve")
	addrFile := flag.String("addr-file", "", "write the bound address here once listening")
	hardened := flag.Bool("hardened", false, "use the listener and http.Server settings of cwcreds serve")
	flag.Parse()
	if *tokenFile == "" || *bodyFile == "" {
		return errors.New("-token-file and -body-file are required")
	}
	token, err := os.ReadFile(*tokenFile)
	if err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyFile)
	if err != nil {
		return err
	}
	h := handler(strings.TrimRight(string(token), "\r\n"), body)
	var ln net.Listener
	if *hardened {
		ln, err = server.Listen(context.Background(), server.ListenConfig{Addr: *listen})
	} else {
		ln, err = net.Listen("tcp", *listen)
	}
	if err != nil {
		return err
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o600); err != nil {
			return err
		}
	}
	if *hardened {
		// Serve, not NewHTTPServer(…).Serve: it wires the listener's connection
		// tracking into the http.Server, as cwcreds serve has it.
		return server.Serve(context.Background(), ln, h, server.ListenConfig{Addr: *listen})
	}
	return http.Serve(ln, h)
}

// handler answers every request as cwcreds answers a cached GET /v1/credentials:
// the same headers (Content-Type, Cache-Control, Content-Length) and body.
func handler(token string, body []byte) http.Handler {
	want := []byte(token)
	ct, cc, cl := []string{"application/json"}, []string{"no-store"}, []string{strconv.Itoa(len(body))}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		h := w.Header()
		h["Content-Type"], h["Cache-Control"], h["Content-Length"] = ct, cc, cl
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	})
}
