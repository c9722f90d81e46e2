// Package flood is the connection flood that the server's flood test and
// test/bench/flood (scripts/bench-flood) hold against an endpoint, and the
// request their legitimate clients make meanwhile.
package flood

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Start holds n connections to addr open from n goroutines, each reconnecting as
// soon as the server closes its connection, until ctx ends or limit passes
// (whichever is first: it always stops by itself). A third of the connections send
// nothing, a third send half the headers of a GET of path and stall (slowloris),
// and a third send one whole request with token as Authorization, read the answer
// and then sit idle on the keep-alive connection. It returns a function that stops
// the flood and waits until every goroutine has closed its connection (it may be
// called more than once), and a counter of connections made.
func Start(ctx context.Context, addr, path, token string, n int, limit time.Duration) (wait func(), dials *atomic.Int64) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	deadline, _ := ctx.Deadline()
	dials = new(atomic.Int64)
	var wg sync.WaitGroup
	partial := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	whole := partial + "Authorization: " + token + "\r\n\r\n"
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := net.Dialer{Deadline: deadline}
			buf := make([]byte, 4096)
			for ctx.Err() == nil {
				c, err := d.DialContext(ctx, "tcp", addr)
				if err != nil {
					select { // the backlog is full or we are stopping: back off a little
					case <-ctx.Done():
					case <-time.After(5 * time.Millisecond):
					}
					continue
				}
				dials.Add(1)
				stop := context.AfterFunc(ctx, func() { c.Close() })
				switch i % 3 {
				case 1:
					_, _ = io.WriteString(c, partial)
				case 2:
					_, _ = io.WriteString(c, whole)
				}
				for { // until the server hangs up (or we stop)
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				stop()
				c.Close()
			}
		}()
	}
	return func() { cancel(); wg.Wait() }, dials
}

// Fetch is one legitimate client's request: a GET of url with token as
// Authorization, whose whole answer it reads. Any status but 200 is an error.
func Fetch(client *http.Client, url, token string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
