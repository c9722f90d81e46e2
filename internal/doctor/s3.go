package doctor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cwcreds/cwcreds/internal/redact"
)

const titleS3 = "S3 with the keys"

// fallbackRegion signs when the profile names no region, as the AWS CLI would
// need one too.
const fallbackRegion = "us-east-1"

// emptySHA256 is the payload hash of a request without a body.
var emptySHA256 = func() string { s := sha256.Sum256(nil); return hex.EncodeToString(s[:]) }()

// s3Error is an S3 error answer's code and message.
type s3Error struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// checkS3 makes a SigV4-signed ListBuckets call with the keys, once the
// propagation delay has passed, trying a refused new key again for a while.
func (r *run) checkS3(ctx context.Context) {
	p := r.profile
	hc, err := r.httpClient(p)
	if err != nil {
		r.add(problemStep(StepS3, titleS3, "", err.Error(), "fix ca_bundle or the proxy variables"))
		return
	}
	if !r.haveKeys {
		// Without keys, at least say whether S3 can be reached.
		status, err := r.probe(ctx, hc, p.S3Endpoint)
		if err != nil {
			r.add(problemStep(StepS3, titleS3, "", fmt.Sprintf("could not reach S3 at %s: %v", p.S3Endpoint, unwrapURLError(err)), r.s3Unreachable()))
			return
		}
		r.add(skippedStep(StepS3, titleS3, fmt.Sprintf("S3 at %s answers (HTTP %d to an unsigned request); the signed call needs keys (see exchange)", p.S3Endpoint, status)))
		return
	}
	region := p.Region
	if region == "" {
		region = fallbackRegion
	}
	waited := time.Duration(0)
	var deadline time.Time
	if r.minted {
		ready := r.mintedAt.Add(p.PropagationDelay)
		if d := ready.Sub(r.d.Clock.Now()); d > 0 {
			if err := r.sleep(ctx, d); err != nil {
				r.add(problemStep(StepS3, titleS3, "", "interrupted while waiting for the new keys to propagate", "run doctor again"))
				return
			}
			waited = p.PropagationDelay
		}
		deadline = ready.Add(r.d.S3Patience)
	}
	for {
		status, s3err, err := r.listBuckets(ctx, hc, p.S3Endpoint, region)
		switch {
		case err != nil:
			r.add(problemStep(StepS3, titleS3, "", fmt.Sprintf("could not reach S3 at %s: %v", p.S3Endpoint, unwrapURLError(err)), r.s3Unreachable()))
			return
		case status == http.StatusOK:
			detail := fmt.Sprintf("a signed ListBuckets at %s (region %s) succeeded", p.S3Endpoint, region)
			if waited > 0 {
				detail += fmt.Sprintf(" after the %s propagation delay", p.PropagationDelay)
			}
			if !r.minted {
				detail += " with the cached keys"
			}
			r.add(okStep(StepS3, titleS3, detail))
			return
		case status == http.StatusForbidden && retryable(s3err.Code) && r.minted && r.d.Clock.Now().Add(s3RetryEvery).Before(deadline):
			if err := r.sleep(ctx, s3RetryEvery); err != nil {
				r.add(problemStep(StepS3, titleS3, "", "interrupted while waiting for the new keys to propagate", "run doctor again"))
				return
			}
		default:
			r.add(problemStep(StepS3, titleS3, fmt.Sprintf("signed ListBuckets at %s (region %s)", p.S3Endpoint, region),
				fmt.Sprintf("S3 refused the keys: HTTP %d %s: %s", status, orNone(s3err.Code), oneLine(s3err.Message)), r.s3Fix(status, s3err.Code)))
			return
		}
	}
}

func retryable(code string) bool { return code == "InvalidAccessKeyId" || code == "AccessDenied" }

func (r *run) s3Fix(status int, code string) string {
	p := r.profile
	switch code {
	case "InvalidAccessKeyId":
		if r.minted {
			return fmt.Sprintf("S3 did not know the new keys %s after propagation_delay %s: check that s3_endpoint (%s) belongs to the same CoreWeave API (%s), or raise propagation_delay", round(r.d.S3Patience), p.PropagationDelay, p.Origin("s3_endpoint"), p.APIEndpoint)
		}
		return fmt.Sprintf("the cached keys are no longer valid: run `cwcreds logout --profile %s` and log in again", p.Name)
	case "SignatureDoesNotMatch", "AuthorizationHeaderMalformed":
		return fmt.Sprintf("check region (%s, from %s) and that no proxy rewrites S3 requests", orNone(p.Region), p.Origin("region"))
	case "RequestTimeTooSkewed":
		return "synchronise this machine's clock (timedatectl set-ntp true, chronyd or ntpd)"
	case "AccessDenied":
		return "the keys are refused (suspended principal, or an access policy): ask an org admin, and check with `cwcreds can-i s3:ListAllMyBuckets --resource '*'`"
	}
	if status >= 500 {
		return "S3 is failing: try again later"
	}
	return "check s3_endpoint (" + p.Origin("s3_endpoint").String() + ")"
}

func (r *run) s3Unreachable() string {
	return "check s3_endpoint (" + r.profile.Origin("s3_endpoint").String() + "; https://cwobject.com anywhere, http://cwlota.com inside CoreWeave clusters), the network and HTTPS_PROXY/NO_PROXY"
}

// probe sends one unsigned GET / and returns the HTTP status.
func (r *run) probe(ctx context.Context, hc *http.Client, endpoint string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(endpoint, "/")+"/", nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// listBuckets sends one signed GET / and returns the status and S3 error.
func (r *run) listBuckets(ctx context.Context, hc *http.Client, endpoint, region string) (int, s3Error, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(endpoint, "/")+"/", nil)
	if err != nil {
		return 0, s3Error{}, err
	}
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	c := aws.Credentials{AccessKeyID: r.keys.AccessKeyID, SecretAccessKey: r.keys.SecretAccessKey, SessionToken: r.keys.SessionToken}
	if err := v4.NewSigner().SignHTTP(ctx, c, req, emptySHA256, "s3", region, r.d.Clock.Now()); err != nil {
		return 0, s3Error{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, s3Error{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e s3Error
	if resp.StatusCode != http.StatusOK {
		_ = xml.Unmarshal(body, &e)
		e.Code = redact.Text(e.Code, []string{r.keys.AccessKeyID, r.keys.SecretAccessKey}, 64)
		e.Message = redact.Text(e.Message, []string{r.keys.AccessKeyID, r.keys.SecretAccessKey, r.keys.SessionToken}, 300)
	}
	return resp.StatusCode, e, nil
}

func (r *run) sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-r.d.Clock.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
