package cwobject

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

// pagedKeys serves n keys by offset and limit, like the real API.
func pagedKeys(n int, ignoreOffset bool) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, r *http.Request) {
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if ignoreOffset {
			offset = 0
		}
		type info struct {
			AccessKeyID string `json:"accessKeyId"`
			Status      string `json:"status"`
			Name        string `json:"name"`
		}
		page := []info{}
		for i := offset; i < n && i < offset+limit; i++ {
			page = append(page, info{AccessKeyID: fmt.Sprintf("CW%014d", i), Status: "ACCESS_KEY_STATUS_ACTIVE", Name: fmt.Sprintf("bucket-%d", i)})
		}
		b, _ := json.Marshal(map[string]any{"info": page})
		jsonReply(w, 200, string(b))
	}
}

func TestAllAccessKeyInfoWalksPages(t *testing.T) {
	env := newEnv(t, pagedKeys(25, false))
	all, err := env.client.AllAccessKeyInfo(context.Background(), AccessKeyStatusActive, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 25 || all[24].AccessKeyID != "CW00000000000024" {
		t.Fatalf("%d keys", len(all))
	}
	reqs := env.api.requests()
	want := []string{
		"limit=10&offset=0&status=ACCESS_KEY_STATUS_ACTIVE",
		"limit=10&offset=10&status=ACCESS_KEY_STATUS_ACTIVE",
		"limit=10&offset=20&status=ACCESS_KEY_STATUS_ACTIVE",
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if r.Query != want[i] {
			t.Errorf("page %d query %q, want %q", i, r.Query, want[i])
		}
	}
}

func TestAllAccessKeyInfoExactMultipleNeedsAnEmptyPage(t *testing.T) {
	env := newEnv(t, pagedKeys(20, false))
	all, err := env.client.AllAccessKeyInfo(context.Background(), "", 10)
	if err != nil || len(all) != 20 || env.api.count() != 3 {
		t.Fatalf("%d keys, %d requests, err %v", len(all), env.api.count(), err)
	}
}

func TestAllBucketInfoDefaultPageSize(t *testing.T) {
	env := newEnv(t, pagedKeys(2500, false))
	all, err := env.client.AllBucketInfo(context.Background(), 0)
	if err != nil || len(all) != 2500 || env.api.count() != 3 {
		t.Fatalf("%d buckets, %d requests, err %v", len(all), env.api.count(), err)
	}
	if q := env.api.requests()[2].Query; q != "limit=1000&offset=2000" {
		t.Fatalf("query %q", q)
	}
}

func TestPaginationStopsWhenServerIgnoresOffset(t *testing.T) {
	env := newEnv(t, pagedKeys(50, true))
	all, err := env.client.AllBucketInfo(context.Background(), 10)
	if err != nil || len(all) != 10 || env.api.count() != 2 {
		t.Fatalf("%d buckets, %d requests, err %v", len(all), env.api.count(), err)
	}
	if len(env.logs.FilterMessageSnippet("added nothing new").All()) != 1 {
		t.Fatal("no warning logged")
	}
}

func TestPaginationDropsDuplicatesFromShiftingPages(t *testing.T) {
	// The second page overlaps the first by one item (a key was deleted meanwhile).
	env := newEnv(t, func(attempt int, w http.ResponseWriter, _ *http.Request) {
		switch attempt {
		case 0:
			jsonReply(w, 200, `{"info":[{"accessKeyId":"CW1"},{"accessKeyId":"CW2"}]}`)
		case 1:
			jsonReply(w, 200, `{"info":[{"accessKeyId":"CW2"},{"accessKeyId":"CW3"}]}`)
		default:
			jsonReply(w, 200, `{"info":[]}`)
		}
	})
	all, err := env.client.AllAccessKeyInfo(context.Background(), "", 2)
	if err != nil || len(all) != 3 || all[2].AccessKeyID != "CW3" || env.api.count() != 3 {
		t.Fatalf("%+v, err %v", all, err)
	}
}

func TestPaginationPropagatesErrors(t *testing.T) {
	env := newEnv(t, always(403, `{"code":7,"message":"no"}`))
	_, err := env.client.AllAccessKeyInfo(context.Background(), "", 0)
	var se *StatusError
	if !errors.As(err, &se) || se.Op != "ListAccessKeyInfo" {
		t.Fatalf("err = %v", err)
	}
	if _, err := env.client.AllBucketInfo(context.Background(), 5000); !errors.As(err, new(*ValidationError)) {
		t.Fatalf("page size 5000: %v", err)
	}
}
