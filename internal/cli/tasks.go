package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/server"
)

// task is one part of a daemon: it runs until its context is done, then returns
// nil, or returns the error that stopped it.
type task struct {
	name string
	run  func(ctx context.Context) error
}

// runTasks runs every task at once, and the parts stop together: the first one to
// return — with an error, or early without one — cancels the others' context.
// It waits for all of them and returns the first error, or nil when they all
// stopped because ctx was done (context.Canceled returned then counts as nil).
func runTasks(ctx context.Context, tasks ...task) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(tasks))
	for _, t := range tasks {
		go func() {
			err := t.run(ctx)
			switch {
			case err == nil && ctx.Err() == nil:
				err = fmt.Errorf("%s stopped unexpectedly", t.name)
			case errors.Is(err, context.Canceled) && ctx.Err() != nil:
				err = nil // stopped as asked
			}
			cancel()
			errs <- err
		}()
	}
	var first error
	for range tasks {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// endpointTasks are the parts of every process that serves credentials (serve,
// exec --server): the endpoint on ln, and runProviders, which runs the profiles'
// refreshers. Refreshers outlive the endpoint's last request: runProviders is
// given a channel closed once the endpoint has drained, and must keep its
// refreshers running until then, so a request in flight at shutdown still gets
// its keys.
func endpointTasks(ln net.Listener, h http.Handler, cfg server.ListenConfig, log *zap.Logger,
	runProviders func(ctx context.Context, endpointDone <-chan struct{}) error) []task {
	done := make(chan struct{})
	return []task{
		{"credentials endpoint", func(ctx context.Context) error {
			defer close(done)
			return serveEndpoint(ctx, ln, h, cfg, log)
		}},
		{"profiles", func(ctx context.Context) error { return runProviders(ctx, done) }},
	}
}

// runRefreshers runs refs as endpointTasks asks: until ctx is done and the
// endpoint has drained.
func runRefreshers(refs ...*cache.Refresher) func(context.Context, <-chan struct{}) error {
	return func(ctx context.Context, endpointDone <-chan struct{}) error {
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		errs := make([]error, len(refs))
		var wg sync.WaitGroup
		for i, r := range refs {
			wg.Go(func() {
				if err := r.Run(runCtx); !errors.Is(err, context.Canceled) {
					errs[i] = err
				}
			})
		}
		<-ctx.Done()
		<-endpointDone
		cancel()
		wg.Wait()
		return errors.Join(errs...)
	}
}
