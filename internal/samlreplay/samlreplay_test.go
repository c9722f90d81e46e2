package samlreplay

import (
	"errors"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/jonboulle/clockwork"
)

func TestCache(t *testing.T) {
	clock := clockwork.NewFakeClock()
	c := New(clock)
	if err := c.Consume("a", clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := c.Consume("a", clock.Now().Add(time.Minute)); !errors.Is(err, saml.ErrAssertionReplayed) {
		t.Fatalf("a replay: %v", err)
	}
	if !c.SeenAny([]string{"x", "a"}) || c.SeenAny([]string{"x"}) {
		t.Fatal("SeenAny")
	}
	clock.Advance(2 * time.Minute) // past its expiry: the id is forgotten
	if err := c.Consume("b", clock.Now().Add(time.Minute)); err != nil || c.SeenAny([]string{"a"}) {
		t.Fatalf("expired ids are kept: %v", err)
	}
}
