package inject

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
)

var serviceAccountsResource = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}

// InformerAccounts answers ServiceAccounts from an informer on every service
// account of the cluster. It watches metadata only (no secrets, no image pull
// secrets) and keeps of each account only its name and the opt-in annotations,
// so a cluster with many accounts costs little memory. It needs get, list and
// watch on serviceaccounts.
type InformerAccounts struct {
	client   metadata.Interface
	informer cache.SharedIndexInformer
	log      *zap.Logger
}

// NewServiceAccounts builds the informer; Run starts it.
func NewServiceAccounts(client metadata.Interface, log *zap.Logger) (*InformerAccounts, error) {
	if log == nil {
		log = zap.NewNop()
	}
	res := client.Resource(serviceAccountsResource)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return res.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, client), &metav1.PartialObjectMetadata{}, 0,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	if err := inf.SetTransform(keepOptIn); err != nil {
		return nil, fmt.Errorf("could not set up the service-account informer: %w", err)
	}
	return &InformerAccounts{client: client, informer: inf, log: log}, nil
}

// keepOptIn strips a service account to what Mutate reads.
func keepOptIn(obj any) (any, error) {
	m, ok := obj.(*metav1.PartialObjectMetadata)
	if !ok {
		return obj, nil // a tombstone
	}
	out := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta}
	out.Name, out.Namespace, out.UID, out.ResourceVersion = m.Name, m.Namespace, m.UID, m.ResourceVersion
	for _, k := range []string{AnnotationInject, AnnotationCoreWeaveInject} {
		if v, ok := m.Annotations[k]; ok {
			if out.Annotations == nil {
				out.Annotations = map[string]string{}
			}
			out.Annotations[k] = v
		}
	}
	return out, nil
}

// Run runs the informer until ctx is done. client-go logs through the logger in
// its context (a failed list or watch, a relist), so those lines reach a's zap
// logger as JSON rather than klog's global text output.
func (a *InformerAccounts) Run(ctx context.Context) error {
	a.informer.RunWithContext(klog.NewContext(ctx, zapr.NewLogger(a.log.Named("client-go"))))
	return ctx.Err()
}

// Synced reports whether the first list has been loaded.
func (a *InformerAccounts) Synced() bool { return a.informer.HasSynced() }

// Ready is nil once the informer has synced.
func (a *InformerAccounts) Ready() error {
	if !a.Synced() {
		return errors.New("service accounts not listed yet")
	}
	return nil
}

// Annotations returns the opt-in annotations of namespace/name. An account the
// cache does not hold yet (created a moment ago: the API server's ServiceAccount
// admission has already seen it) is read from the API server.
func (a *InformerAccounts) Annotations(ctx context.Context, namespace, name string) (map[string]string, bool, error) {
	obj, exists, err := a.informer.GetIndexer().GetByKey(namespace + "/" + name)
	if err == nil && exists {
		if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
			return m.Annotations, true, nil
		}
	}
	m, err := a.client.Resource(serviceAccountsResource).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("could not get it from the API server: %w", err)
	}
	a.log.Debug("service account not in the cache yet, read from the API server", zap.String("namespace", namespace), zap.String("name", name))
	return m.Annotations, true, nil
}
