package inject

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"
)

func serviceAccount(ns, name string, annotations map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: annotations},
	}
}

// TestInformerAccounts drives the informer with client-go's fake metadata client:
// accounts listed at start, added and changed later are seen, only the opt-in
// annotations are kept, and an account the cache lacks is read directly.
func TestInformerAccounts(t *testing.T) {
	scheme := fake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	client := fake.NewSimpleMetadataClient(scheme,
		serviceAccount("ml", "builder", map[string]string{AnnotationInject: "true", "secret-looking": "x"}),
		serviceAccount("ml", "default", nil))
	accounts, err := NewServiceAccounts(client, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- accounts.Run(ctx) }()
	if accounts.Ready() == nil && !accounts.Synced() {
		t.Fatal("ready before synced")
	}
	waitFor(t, accounts.Synced)
	if err := accounts.Ready(); err != nil {
		t.Fatal(err)
	}

	got, found, err := accounts.Annotations(ctx, "ml", "builder")
	if err != nil || !found || got[AnnotationInject] != "true" {
		t.Fatalf("builder: %v %v %v", got, found, err)
	}
	if _, kept := got["secret-looking"]; kept {
		t.Fatal("the cache keeps annotations it does not need")
	}
	if _, found, err := accounts.Annotations(ctx, "ml", "nobody"); found || err != nil {
		t.Fatalf("missing account: found %v, %v", found, err)
	}

	// A change through the API is seen by the informer.
	sa := client.Resource(serviceAccountsResource).Namespace("ml")
	if _, err := sa.(fake.MetadataClient).CreateFake(serviceAccount("ml", "late", map[string]string{AnnotationCoreWeaveInject: "true"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, ok, _ := accounts.informer.GetIndexer().GetByKey("ml/late")
		return ok
	})
	if got, _, _ := accounts.Annotations(ctx, "ml", "late"); got[AnnotationCoreWeaveInject] != "true" {
		t.Fatalf("late account: %v", got)
	}

	// Mutate through the informer: the opted-in account's pod is injected.
	review := mustDecode(t, readReview(t, "opted-in-service-account"))
	res, err := Mutate(ctx, testConfig(), review.Request, accounts)
	if err != nil || res.Outcome != OutcomeInjected {
		t.Fatalf("%s %v", res.Outcome, err)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the informer did not stop")
	}
}

// TestAccountsCacheMiss: an account that exists but is not in the cache (not
// started here) is read from the API server.
func TestAccountsCacheMiss(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	client := fake.NewSimpleMetadataClient(scheme, serviceAccount("ml", "builder", map[string]string{AnnotationInject: "true"}))
	accounts, err := NewServiceAccounts(client, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, found, err := accounts.Annotations(context.Background(), "ml", "builder")
	if err != nil || !found || got[AnnotationInject] != "true" {
		t.Fatalf("%v %v %v", got, found, err)
	}
}

// A list the API server refuses is logged through the zap logger the accounts
// were given, not klog's global output.
func TestInformerLogsThroughZap(t *testing.T) {
	scheme := fake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	client := fake.NewSimpleMetadataClient(scheme)
	client.PrependReactor("list", "serviceaccounts", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(serviceAccountsResource.GroupResource(), "", errors.New("RBAC: list refused"))
	})
	core, logs := observer.New(zapcore.DebugLevel)
	accounts, err := NewServiceAccounts(client, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- accounts.Run(ctx) }()
	waitFor(t, func() bool { return logs.FilterMessageSnippet("Failed to watch").Len() > 0 })
	entry := logs.FilterMessageSnippet("Failed to watch").All()[0]
	if !strings.HasPrefix(entry.LoggerName, "client-go") || entry.Level != zapcore.ErrorLevel ||
		!strings.Contains(fmt.Sprint(entry.ContextMap()), "RBAC: list refused") {
		t.Errorf("the refused list was logged as %s %v %q %v", entry.LoggerName, entry.Level, entry.Message, entry.ContextMap())
	}
	cancel()
	<-done
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
