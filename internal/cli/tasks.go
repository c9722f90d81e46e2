package cli

import (
	"context"
	"errors"
	"fmt"
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
