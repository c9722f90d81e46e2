// Package suggest finds the "did you mean" candidate for a misspelt name, for the
// config and policy-file checks' error messages.
package suggest

import "strings"

// maxDistance: a candidate further than this many edits from the name is not offered.
const maxDistance = 2

// Closest is the candidate nearest to s, ignoring case, within two edits, or "".
// Of candidates equally near, the first wins.
func Closest(s string, candidates []string) string {
	best, bestD := "", maxDistance+1
	for _, c := range candidates {
		if d := distance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance; strings longer than 64 bytes are never
// near anything (the quadratic work stays small on hostile input).
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
