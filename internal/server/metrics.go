package server

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// UnknownProfile labels requests and events for names that are not configured, so
// a caller cannot create one series per name it makes up. It cannot clash with a
// profile: names start with a letter or digit.
const UnknownProfile = "_unknown"

// NewRegistry returns a fresh registry holding the Go runtime and process
// collectors, for NewMetrics and the /metrics handler.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Metrics are the cwcreds_* series. Profile labels are only ever configured profile
// names (set by Server.SetProfiles) or UnknownProfile. Use one Metrics per Server.
type Metrics struct {
	clock                                                        clockwork.Clock
	requests, exchanges, refreshes, hits, misses, expiredRefused *prometheus.CounterVec
	duration                                                     *prometheus.HistogramVec
	connsEvicted                                                 prometheus.Counter
	expiryDesc                                                   *prometheus.Desc

	unknown *profileMetrics
	cur     atomic.Pointer[metricsSet]
}

type metricsSet struct {
	byName   map[string]*profileMetrics
	profiles []*profile // for the expiry gauge
}

// profileMetrics are one profile's series, resolved once so that the request path
// and cache events only increment counters.
type profileMetrics struct {
	name                              string
	requests                          [numStatuses]prometheus.Counter
	success, transient, unrecoverable prometheus.Counter
	duration                          prometheus.Observer
	refreshes, hits, misses, expired  prometheus.Counter
	lastExpiry                        atomic.Int64 // unix ns of the last refreshed keys; 0 none
}

// countedStatuses are the statuses the endpoint answers with, each counted under
// its own label at its index here; anything else counts as "other", at stOther.
var countedStatuses = [...]int{
	http.StatusOK,
	http.StatusBadRequest,
	http.StatusUnauthorized,
	http.StatusForbidden,
	http.StatusNotFound,
	http.StatusMethodNotAllowed,
	http.StatusMisdirectedRequest,
	http.StatusInternalServerError,
	http.StatusServiceUnavailable,
}

const (
	stOK        = 0 // the index of http.StatusOK in countedStatuses
	stOther     = len(countedStatuses)
	numStatuses = stOther + 1
)

func statusIndex(code int) int {
	if i := slices.Index(countedStatuses[:], code); i >= 0 {
		return i
	}
	return stOther
}

func statusLabel(i int) string {
	if i < len(countedStatuses) {
		return strconv.Itoa(countedStatuses[i])
	}
	return "other"
}

// NewMetrics creates the cwcreds_* metrics and registers them with reg (never the
// global registry: pass NewRegistry() or your own). clock computes seconds until
// expiry for providers without a Status; nil means the real clock.
func NewMetrics(reg prometheus.Registerer, clock clockwork.Clock) (*Metrics, error) {
	if reg == nil {
		return nil, fmt.Errorf("no metrics registry given: pass server.NewRegistry()")
	}
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		clock:          clock,
		requests:       counter("cwcreds_requests_total", "Credentials endpoint requests by profile and HTTP status.", "profile", "status"),
		exchanges:      counter("cwcreds_exchanges_total", "Exchanges (fetches of new keys) by profile and outcome: success, transient or unrecoverable.", "profile", "outcome"),
		refreshes:      counter("cwcreds_refreshes_total", "Successful refreshes of a profile's keys.", "profile"),
		hits:           counter("cwcreds_cache_hits_total", "Keys served from the cache without waiting.", "profile"),
		misses:         counter("cwcreds_cache_misses_total", "Keys served after waiting for an exchange.", "profile"),
		expiredRefused: counter("cwcreds_expired_refused_total", "Times held keys were refused as expired or too close to expiry with nothing else to serve.", "profile"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cwcreds_exchange_duration_seconds",
			Help:    "Duration of successful exchanges.",
			Buckets: []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"profile"}),
		connsEvicted: prometheus.NewCounter(prometheus.CounterOpts{Name: "cwcreds_connections_evicted_total",
			Help: "Connections to the credentials endpoint closed, at its connection cap, to make room for a new one: idle keep-alive connections and new ones that had sent no whole request."}),
		expiryDesc: prometheus.NewDesc("cwcreds_credentials_expiry_seconds",
			"Seconds until the served keys of a profile expire, at scrape time; 0 when none are held.", []string{"profile"}, nil),
	}
	for _, c := range []prometheus.Collector{m.requests, m.exchanges, m.refreshes, m.hits, m.misses, m.expiredRefused, m.duration, m.connsEvicted, expiryCollector{m}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("could not register the cwcreds metrics: %w (use a fresh registry per server)", err)
		}
	}
	m.unknown = m.newProfileMetrics(UnknownProfile)
	m.cur.Store(&metricsSet{byName: map[string]*profileMetrics{}})
	return m, nil
}

func (m *Metrics) newProfileMetrics(name string) *profileMetrics {
	pm := &profileMetrics{
		name:          name,
		success:       m.exchanges.WithLabelValues(name, "success"),
		transient:     m.exchanges.WithLabelValues(name, "transient"),
		unrecoverable: m.exchanges.WithLabelValues(name, "unrecoverable"),
		duration:      m.duration.WithLabelValues(name),
		refreshes:     m.refreshes.WithLabelValues(name),
		hits:          m.hits.WithLabelValues(name),
		misses:        m.misses.WithLabelValues(name),
		expired:       m.expiredRefused.WithLabelValues(name),
	}
	for i := range pm.requests {
		pm.requests[i] = m.requests.WithLabelValues(name, statusLabel(i))
	}
	return pm
}

// setProfiles gives each profile its series and drops those of removed profiles.
// Callers serialise it.
func (m *Metrics) setProfiles(profiles []*profile) {
	old := m.cur.Load()
	next := &metricsSet{byName: make(map[string]*profileMetrics, len(profiles)), profiles: profiles}
	for _, p := range profiles {
		pm := old.byName[p.name]
		if pm == nil {
			pm = m.newProfileMetrics(p.name)
		}
		p.pm = pm
		next.byName[p.name] = pm
	}
	for name := range old.byName {
		if next.byName[name] == nil {
			m.deleteProfile(name)
		}
	}
	m.cur.Store(next)
}

func (m *Metrics) deleteProfile(name string) {
	l := prometheus.Labels{"profile": name}
	for _, v := range []*prometheus.MetricVec{m.requests.MetricVec, m.exchanges.MetricVec, m.refreshes.MetricVec,
		m.hits.MetricVec, m.misses.MetricVec, m.expiredRefused.MetricVec, m.duration.MetricVec} {
		v.DeletePartialMatch(l)
	}
}

// lookup returns a configured profile's series, or those of UnknownProfile.
func (m *Metrics) lookup(name string) *profileMetrics {
	if pm := m.cur.Load().byName[name]; pm != nil {
		return pm
	}
	return m.unknown
}

// expiryCollector computes cwcreds_credentials_expiry_seconds at scrape time.
type expiryCollector struct{ m *Metrics }

func (c expiryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.expiryDesc }

func (c expiryCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.m.clock.Now()
	for _, p := range c.m.cur.Load().profiles {
		var secs float64
		switch {
		case p.status != nil:
			if st := p.status.Status(); st.AccessKeyID != "" {
				secs = st.Remaining.Seconds()
			}
		case p.pm.lastExpiry.Load() != 0:
			secs = time.Unix(0, p.pm.lastExpiry.Load()).Sub(now).Seconds()
		default:
			continue // nothing known yet
		}
		if m, err := prometheus.NewConstMetric(c.m.expiryDesc, prometheus.GaugeValue, max(secs, 0), p.name); err == nil {
			ch <- m
		}
	}
}
