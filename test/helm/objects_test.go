package helm_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// all returns the rendered objects of type T.
func all[T runtime.Object](r *rendered) []T {
	var out []T
	for _, o := range r.typed {
		if x, ok := o.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

// one returns the only rendered object of type T.
func one[T runtime.Object](t *testing.T, r *rendered) T {
	t.Helper()
	xs := all[T](r)
	if len(xs) != 1 {
		var zero T
		t.Fatalf("rendered %d objects of type %T, want 1", len(xs), zero)
	}
	return xs[0]
}

// named returns the rendered object of type T called name.
func named[T interface {
	runtime.Object
	GetName() string
}](t *testing.T, r *rendered, name string) T {
	t.Helper()
	for _, x := range all[T](r) {
		if x.GetName() == name {
			return x
		}
	}
	var zero T
	t.Fatalf("no %T named %s", zero, name)
	return zero
}

func customOf(r *rendered, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range r.custom {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// renderVariant renders and decodes a variant from the variants table.
func renderVariant(t *testing.T, h *helm, name string) *rendered {
	t.Helper()
	for _, v := range variants {
		if v.name == name {
			r, err := decodeManifest(v.render(t, h))
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("no variant %q", name)
	return nil
}

func container(t *testing.T, cs []corev1.Container, name string) corev1.Container {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

func envValue(c corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// flagValues returns every value given to flag in args (--flag value form).
func flagValues(args []string, flag string) []string {
	var out []string
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			out = append(out, args[i+1])
		}
	}
	return out
}

func selects(selector map[string]string, podLabels map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(podLabels))
}
