// Command flood is the load of scripts/bench-flood: it holds -flood connections
// to -addr open, each reconnecting as soon as the server closes it (a third send
// nothing, a third half a request's headers, a third one whole request and then
// sit idle on the keep-alive connection), and meanwhile -clients clients fetch
// -path with the Authorization token, each on a fresh connection with a 1 s
// timeout (the strictest SDK's), for -duration. It prints one line:
// "requests N ok N rate R p50 D p99 D connects N". It stops by itself.
//
// Usage: flood -addr 127.0.0.1:P -token-file F [-flood 2000] [-clients 4] [-duration 10s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cwcreds/cwcreds/internal/server/flood"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "flood:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "", "host:port of the server")
	path := flag.String("path", "/v1/credentials", "path the clients fetch")
	tokenFile := flag.String("token-file", "", "file holding the Authorization token")
	n := flag.Int("flood", 2000, "flood connections")
	clients := flag.Int("clients", 4, "concurrent legitimate clients")
	duration := flag.Duration("duration", 10*time.Second, "how long the clients fetch")
	timeout := flag.Duration("timeout", time.Second, "client timeout")
	flag.Parse()
	if *addr == "" || *tokenFile == "" {
		return errors.New("-addr and -token-file are required")
	}
	b, err := os.ReadFile(*tokenFile)
	if err != nil {
		return err
	}
	token := strings.TrimRight(string(b), "\r\n")

	wait, dials := flood.Start(context.Background(), *addr, *path, token, *n, *duration+10*time.Second)
	defer wait()
	for start := time.Now(); dials.Load() < int64(*n) && time.Since(start) < 10*time.Second; {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the flood settle

	client := &http.Client{Timeout: *timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + *addr + *path
	var mu sync.Mutex
	var lat []time.Duration
	var total, ok atomic.Int64
	end := time.Now().Add(*duration)
	var cw sync.WaitGroup
	for range *clients {
		cw.Add(1)
		go func() {
			defer cw.Done()
			for time.Now().Before(end) {
				t0 := time.Now()
				err := flood.Fetch(client, url, token)
				d := time.Since(t0)
				total.Add(1)
				if err == nil {
					ok.Add(1)
				} else {
					d = *timeout // a failure counts as the whole timeout
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	cw.Wait()
	d0 := dials.Load()
	wait()
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("requests %d ok %d rate %.1f%% p50 %s p99 %s connects %d\n",
		total.Load(), ok.Load(), 100*float64(ok.Load())/float64(total.Load()), q(0.50).Round(time.Millisecond), q(0.99).Round(time.Millisecond), d0)
	return nil
}
