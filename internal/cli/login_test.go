package cli

import (
	"context"
	"strings"
	"testing"
)

// Several CoreWeave roles in an assertion: --role picks one, a terminal is asked,
// and without a terminal the error names the roles and --role.
func TestPickSAMLRole(t *testing.T) {
	roles := []string{"readers", "writers"}
	ctx := context.Background()
	if got, err := pickSAMLRole(nil, nil, false, "writers")(ctx, roles); err != nil || got != "writers" {
		t.Fatalf("--role writers: %q, %v", got, err)
	}
	if _, err := pickSAMLRole(nil, nil, false, "admins")(ctx, roles); err == nil || !strings.Contains(err.Error(), "readers, writers") {
		t.Fatalf("--role admins: %v", err)
	}
	var out strings.Builder
	if got, err := pickSAMLRole(strings.NewReader("2\n"), &out, true, "")(ctx, roles); err != nil || got != "writers" ||
		!strings.Contains(out.String(), "  1) readers\n  2) writers\n") {
		t.Fatalf("terminal: %q, %v, asked %q", got, err, out.String())
	}
	if _, err := pickSAMLRole(strings.NewReader("7\n"), &out, true, "")(ctx, roles); err == nil || !strings.Contains(err.Error(), "from 1 to 2") {
		t.Fatalf("terminal, a wrong answer: %v", err)
	}
	if _, err := pickSAMLRole(nil, nil, false, "")(ctx, roles); err == nil || !strings.Contains(err.Error(), "--role") {
		t.Fatalf("no terminal: %v", err)
	}
	if got, err := pickSAMLRole(nil, nil, false, "")(ctx, roles[:1]); err != nil || got != "readers" {
		t.Fatalf("one role: %q, %v", got, err)
	}
}
