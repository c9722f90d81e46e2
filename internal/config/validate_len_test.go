package config

import (
	"strings"
	"testing"
)

// The patterns' length limits are checked apart from the regexps; pin them.
func TestValidateLengthLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check check
		max   int
	}{
		{"id", checkID, 128}, {"region", checkRegion, 64}, {"profile", checkProfileName, 64}, {"env", checkEnvName, 128},
	} {
		ok := "A" + strings.Repeat("b", tc.max-1)
		if _, problem, _ := tc.check("f", ok); problem != "" {
			t.Errorf("%s: %d characters refused: %s", tc.name, tc.max, problem)
		}
		if _, problem, _ := tc.check("f", ok+"c"); problem == "" {
			t.Errorf("%s: %d characters accepted", tc.name, tc.max+1)
		}
	}
}
