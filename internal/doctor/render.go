package doctor

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// WriteJSON writes the report as one indented JSON object.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for a person: one block per step, the problem
// and its fix under it, and a last line counting the problems.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "cwcreds doctor: profile %s\n\n", r.Profile)
	for _, s := range r.Steps {
		mark := map[Status]string{StatusOK: "ok", StatusProblem: "PROBLEM", StatusSkipped: "skipped"}[s.Status]
		fmt.Fprintf(&b, "%-8s %s\n", mark, s.Title)
		if s.Detail != "" {
			fmt.Fprintf(&b, "         %s\n", s.Detail)
		}
		if s.Status == StatusProblem {
			fmt.Fprintf(&b, "         problem: %s\n", s.Problem)
			fmt.Fprintf(&b, "         fix: %s\n", s.Fix)
		}
	}
	switch n := r.Problems(); n {
	case 0:
		b.WriteString("\nall checks passed\n")
	case 1:
		b.WriteString("\n1 problem found\n")
	default:
		fmt.Fprintf(&b, "\n%d problems found\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteYAML writes the report as YAML, the same fields as WriteJSON.
func WriteYAML(w io.Writer, r Report) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(r); err != nil {
		return err
	}
	return enc.Close()
}
