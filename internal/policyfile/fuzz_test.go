package policyfile

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: any bytes give policies or an *Error, never a panic; an error is one
// line; accepted policies pass the client's own checks.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte(`{"policy":{"version":"v1alpha1","name":"x","statements":[{"name":"a","effect":"Deny","actions":["*"],"resources":["*"],"principals":["*"]}]}}`))
	f.Add([]byte("- name: a\n  statements: *x\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("---\n---\nname: p\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, warns, err := Parse("f.yaml", data)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if strings.Contains(err.Error(), "\n") && !strings.Contains(string(data), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(ps) == 0 {
			t.Fatal("no error and no policy")
		}
		for _, p := range ps {
			if p.Name == "" || p.Version != "v1alpha1" || len(p.Statements) == 0 {
				t.Fatalf("accepted an incomplete policy %+v", p)
			}
			for _, s := range p.Statements {
				if (s.Effect != "Allow" && s.Effect != "Deny") || len(s.Actions) == 0 || len(s.Resources) == 0 || len(s.Principals) == 0 {
					t.Fatalf("accepted an incomplete statement %+v", s)
				}
			}
		}
		for _, w := range warns {
			if !w.Warning {
				t.Fatalf("warning not marked: %v", w)
			}
		}
	})
}
