package doctor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

const titleClock = "clock against the API"

// httpClient is the client for the profile's clock and S3 requests.
func (r *run) httpClient(p *config.Profile) (*http.Client, error) {
	if r.d.HTTPClient != nil {
		return r.d.HTTPClient, nil
	}
	return exchange.NewHTTPClient(exchange.HTTPOptions{CABundle: p.CABundle, Getenv: r.d.Getenv, Timeout: callTimeout})
}

// checkClock compares this machine's clock with the Date header of the API's
// answer to an unauthenticated GET, taken halfway through the round trip.
func (r *run) checkClock(ctx context.Context) {
	p := r.profile
	hc, err := r.httpClient(p)
	if err != nil {
		r.add(problemStep(StepClock, titleClock, "", err.Error(), "fix ca_bundle or the proxy variables"))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(p.APIEndpoint, "/")+"/", nil)
	if err != nil {
		r.add(problemStep(StepClock, titleClock, "", fmt.Sprintf("api_endpoint %s: %v", p.APIEndpoint, err), "fix api_endpoint ("+p.Origin("api_endpoint").String()+")"))
		return
	}
	sent := r.d.Clock.Now()
	resp, err := hc.Do(req)
	if err != nil {
		r.add(problemStep(StepClock, titleClock, "", fmt.Sprintf("could not reach the CoreWeave API at %s: %v", p.APIEndpoint, unwrapURLError(err)),
			"check api_endpoint ("+p.Origin("api_endpoint").String()+"), the network, and HTTPS_PROXY/NO_PROXY"))
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	got := r.d.Clock.Now()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		r.add(skippedStep(StepClock, titleClock, "the API at "+p.APIEndpoint+" sent no usable Date header: the clock was not compared"))
		return
	}
	// Date is truncated to the second: its middle is half a second later.
	local := sent.Add(got.Sub(sent) / 2)
	skew := local.Sub(date.Add(500 * time.Millisecond))
	detail := fmt.Sprintf("this machine's clock is within %s of the API's Date header", MaxClockSkew)
	if skew > MaxClockSkew || skew < -MaxClockSkew {
		dir := "ahead of"
		if skew < 0 {
			dir = "behind"
		}
		r.add(problemStep(StepClock, titleClock, "",
			fmt.Sprintf("this machine's clock is %s %s the CoreWeave API's (its Date header says %s)", roundSkew(skew), dir, stamp(date)),
			"synchronise the clock (timedatectl set-ntp true, chronyd or ntpd): token expiry and S3 signatures are checked against the server's time"))
		return
	}
	r.add(okStep(StepClock, titleClock, detail))
}

// unwrapURLError drops net/url's "Get \"…\": " prefix, which repeats the URL.
func unwrapURLError(err error) error {
	type unwrapper interface{ Unwrap() error }
	if u, ok := err.(unwrapper); ok && strings.HasPrefix(err.Error(), "Get ") {
		return u.Unwrap()
	}
	return err
}

// roundSkew shows a skew to the nearest ten seconds: the Date header has a
// resolution of one second, and the round trip blurs it further.
func roundSkew(d time.Duration) time.Duration {
	if d < 0 {
		d = -d
	}
	return d.Round(10 * time.Second)
}
