package helm_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// rendered is one variant's objects: the built-in kinds decoded strictly into their
// client-go types, the custom resources (cert-manager, Prometheus operator) as
// unstructured.
type rendered struct {
	typed  []runtime.Object
	custom []*unstructured.Unstructured
}

// customKinds are the kinds that are not client-go's; each is checked field by
// field by the tests that rely on it.
var customKinds = map[string]bool{
	"cert-manager.io/v1/Issuer":               true,
	"cert-manager.io/v1/Certificate":          true,
	"monitoring.coreos.com/v1/ServiceMonitor": true,
	"monitoring.coreos.com/v1/PrometheusRule": true,
}

// decodeManifest splits helm's output into documents and decodes each strictly:
// an unknown field, a wrong type or a duplicate key is an error.
func decodeManifest(manifest string) (*rendered, error) {
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	out := &rendered{}
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("could not split the manifest: %w", err)
		}
		js, err := yaml.YAMLToJSONStrict(doc) // a duplicate key is an error
		if err != nil {
			return nil, fmt.Errorf("not YAML: %w\n%s", err, doc)
		}
		if strings.TrimSpace(string(js)) == "null" {
			continue // a document holding only comments
		}
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(js); err != nil {
			return nil, fmt.Errorf("not an object with apiVersion and kind: %w\n%s", err, doc)
		}
		gvk := u.GroupVersionKind()
		if customKinds[gvk.GroupVersion().String()+"/"+gvk.Kind] {
			out.custom = append(out.custom, &u)
			continue
		}
		obj, _, err := decoder.Decode(js, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s %s does not decode strictly: %w", gvk.Kind, u.GetName(), err)
		}
		out.typed = append(out.typed, obj)
	}
}

func TestRenderedObjectsDecodeStrictly(t *testing.T) {
	h := newHelm(t)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			r, err := decodeManifest(v.render(t, h))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.typed) == 0 {
				t.Fatal("no objects rendered")
			}
			for _, obj := range r.typed {
				m, ok := obj.(interface {
					GetNamespace() string
					GetName() string
				})
				if !ok {
					t.Fatalf("%T has no object metadata", obj)
				}
				if m.GetName() == "" {
					t.Errorf("%T without a name", obj)
				}
			}
			for _, u := range r.custom {
				if u.GetNamespace() != namespace {
					t.Errorf("%s %s in namespace %q, want %q", u.GetKind(), u.GetName(), u.GetNamespace(), namespace)
				}
			}
		})
	}
}

// TestStrictDecoderRefusesUnknownFields keeps the decoding test honest: the same
// decoder must refuse a field Kubernetes does not know and a wrong type.
func TestStrictDecoderRefusesUnknownFields(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field": "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x}\nspec: {hostNetwrok: true}\n",
		"wrong type":    "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: \"443\"}]}\n",
		"duplicate key": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\ndata: {c: d}\n",
	} {
		if _, err := decodeManifest(doc); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}
