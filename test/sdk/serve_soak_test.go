package sdk_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"
)

// Soak timing: keys live 1 minute (the shortest the exchange asks for), are
// refreshed with 40 s left and served once 2 s old (the emulator's S3 refuses
// them for 1 s), never with under 10 s left. So serve rotates keys about every
// 22 s, and the run sees six or so; the whole test stays under 3 minutes.
const (
	soakRun      = 140 * time.Second
	soakInterval = 300 * time.Millisecond
)

// TestServeSoak runs the Go SDK, boto3 and the JavaScript SDK against serve for
// several key lifetimes. No SDK call may fail, and the S3 side must never see a
// refused signature, however the rotations fall between an SDK's fetch and its
// request.
func TestServeSoak(t *testing.T) {
	t.Parallel()
	requireBoto3(t)
	jsDir := requireNodeSDK(t)

	e := startEmulator(t, time.Second)
	s := startServe(t, e, serveOptions{
		shortLifetimes: true,
		profiles: []profileSpec{{
			name: "default", lifetime: time.Minute, margin: 40 * time.Second,
			propagation: 2 * time.Second, minTTL: 10 * time.Second,
		}},
	})
	// The first keys are served at once, before they propagate (see
	// TestServeFirstCallAfterReady); the soak is about the rotations after them.
	first, _ := s.fetch(t, "")
	e.waitPropagated(t, first.AccessKeyID)
	env := sdkEnv(e, s, "", "")
	seconds := int(soakRun / time.Second)

	type driver struct {
		name, bucket string
		run          func(ctx context.Context) (string, string, error)
	}
	drivers := []driver{
		{"aws-sdk-go-v2", "soak-go", func(ctx context.Context) (string, string, error) {
			return runGoSDK(ctx, env, "soak-go", seconds, soakInterval)
		}},
		{"boto3", "soak-boto3", func(ctx context.Context) (string, string, error) {
			return runBoto3(ctx, t, env, "soak-boto3", seconds, soakInterval)
		}},
		{"js-fromHttp", "soak-js", func(ctx context.Context) (string, string, error) {
			return runNodeSDK(ctx, jsDir, env, "fromHttp", "soak-js", seconds, soakInterval)
		}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), soakRun+90*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	reports := make([]sdkReport, len(drivers))
	for i, d := range drivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stdout, stderr, err := d.run(ctx)
			if err != nil {
				t.Errorf("%s failed: %v\nstdout: %s\nstderr: %s", d.name, err, stdout, stderr)
			}
			if stdout != "" {
				reports[i] = decodeReport(t, stdout)
			}
		}()
	}
	wg.Wait()

	var allKeys []string
	for i, d := range drivers {
		rep := reports[i]
		t.Logf("%s: %d rounds, %d calls, %d keys, provider %s", d.name, rep.Rounds, rep.Calls, len(rep.KeyIDs), rep.Provider)
		if len(rep.Failures) > 0 {
			t.Errorf("%s: %d of %d calls failed, first: %s", d.name, len(rep.Failures), rep.Calls, rep.Failures[0])
		}
		if len(rep.KeyIDs) < 3 {
			t.Errorf("%s used %d keys over %s, want at least 3: it did not follow the rotations", d.name, len(rep.KeyIDs), soakRun)
		}
		checkS3Calls(t, e, d.bucket, "", rep.Calls)
	}
	for _, c := range e.rec.Calls("") {
		if c.KeyID != "" && !slices.Contains(allKeys, c.KeyID) {
			allKeys = append(allKeys, c.KeyID)
			suite.addSecret("secret access key", e.secretOf(c.KeyID))
		}
	}
	calls := e.rec.Calls("")
	t.Logf("S3 saw %d requests signed with %d distinct keys; the CoreWeave API saw %d calls", len(calls), len(allKeys), e.exchanges())
	if len(allKeys) <= 3 {
		t.Errorf("%d distinct keys were used over %s, want more than 3", len(allKeys), soakRun)
	}
	for _, k := range allKeys {
		if e.secretOf(k) == "" {
			t.Errorf("S3 saw key %s, which the emulator never minted", k)
		}
	}
	// One exchange per key, not per request: SDKs refetch on every call with such
	// short lifetimes, and all of those are cache hits.
	if n := e.exchanges(); n > len(allKeys)+2 {
		t.Errorf("the CoreWeave API saw %d calls for %d keys: serve does not cache", n, len(allKeys))
	}
}
