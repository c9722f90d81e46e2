package suggest

import (
	"strings"
	"testing"
)

func TestClosest(t *testing.T) {
	candidates := []string{"lifetime", "refresh_margin", "s3:GetObject"}
	for _, tc := range []struct{ in, want string }{
		{"lifetim", "lifetime"},
		{"LIFETIME", "lifetime"},
		{"refresh_margn", "refresh_margin"},
		{"s3:getobjekt", "s3:GetObject"},
		{"lifespan", ""},               // too far
		{strings.Repeat("a", 100), ""}, // too long to be near anything
		{"", ""},                       // nothing is within two edits of the empty name here
	} {
		if got := Closest(tc.in, candidates); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "abc", 0}, {"abc", "abd", 1}, {"kitten", "sitting", 3}, {"", "ab", 2}} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
