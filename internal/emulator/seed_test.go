package emulator_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

func TestSeedingPagesThroughTheAPI(t *testing.T) {
	emu := emutest.Start(t, emulator.Config{})
	ids := emu.SeedAccessKeys("coreweave/seeded", 1500, time.Hour)
	for i := range 1001 {
		if err := emu.SeedBucket(fmt.Sprintf("bucket-%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := emu.SeedBucket("bucket-0000"); err == nil {
		t.Fatal("a bucket seeded twice")
	}
	c, err := cwobject.New(cwobject.Config{BaseURL: emu.APIURL(), Token: emu.AdminToken()})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.AllAccessKeyInfo(context.Background(), "", 0)
	if err != nil || len(keys) != 1500 || keys[0].AccessKeyID != ids[0] || keys[1499].AccessKeyID != ids[1499] {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	buckets, err := c.AllBucketInfo(context.Background(), 0)
	if err != nil || len(buckets) != 1001 {
		t.Fatalf("%d buckets, %v", len(buckets), err)
	}
	on := true
	if _, err := c.SetOrganizationSettings(context.Background(), cwobject.OrganizationSettings{BucketAuditLoggingEnabled: &on}); err != nil {
		t.Fatal(err)
	}
	if s := emu.OrganizationSettings(); s.BucketAuditLoggingEnabled == nil || !*s.BucketAuditLoggingEnabled || s.ControlPlaneAuditLoggingEnabled != nil {
		t.Fatalf("org settings %+v", s)
	}
}
