package cwobject

import (
	"context"
	"strconv"

	"go.uber.org/zap"
)

// MaxPages bounds a pagination walk, so a server that always answers a full page
// cannot keep the client looping.
const MaxPages = 10000

// AllAccessKeyInfo walks ListAccessKeyInfo by offset until a short page and returns
// every key once. status filters as in ListAccessKeyInfoRequest; pageSize 0 means 1000.
func (c *Client) AllAccessKeyInfo(ctx context.Context, status AccessKeyStatus, pageSize int) ([]AccessKeyInfo, error) {
	return paginate(c, OpListAccessKeyInfo, pageSize,
		func(offset, limit int) ([]AccessKeyInfo, error) {
			return c.ListAccessKeyInfo(ctx, ListAccessKeyInfoRequest{Offset: offset, Limit: limit, Status: status})
		},
		func(i AccessKeyInfo) string { return i.AccessKeyID })
}

// AllBucketInfo walks ListBucketInfo by offset until a short page and returns every
// bucket once. pageSize 0 means 1000.
func (c *Client) AllBucketInfo(ctx context.Context, pageSize int) ([]BucketInfo, error) {
	return paginate(c, OpListBucketInfo, pageSize,
		func(offset, limit int) ([]BucketInfo, error) {
			return c.ListBucketInfo(ctx, ListBucketInfoRequest{Offset: offset, Limit: limit})
		},
		func(b BucketInfo) string { return b.Name })
}

// paginate fetches pages until one is short. The API has no page token, so items
// can shift between pages while we walk: duplicates (by key) are dropped, and a
// full page that adds nothing new ends the walk, since a server that ignores
// offset would otherwise return the first page forever.
func paginate[T any](c *Client, op Operation, pageSize int, fetch func(offset, limit int) ([]T, error), key func(T) string) ([]T, error) {
	if pageSize == 0 {
		pageSize = MaxListLimit
	}
	var all []T
	seen := make(map[string]bool)
	offset := 0
	for page := 0; page < MaxPages; page++ {
		items, err := fetch(offset, pageSize)
		if err != nil {
			return nil, err
		}
		added := 0
		for _, it := range items {
			if k := key(it); !seen[k] {
				seen[k] = true
				all = append(all, it)
				added++
			}
		}
		if len(items) < pageSize {
			return all, nil
		}
		if added == 0 {
			c.logger.Warn("cwobject: a full page added nothing new; the server may ignore offset, stopping",
				zap.String("op", op.Name), zap.Int("offset", offset))
			return all, nil
		}
		offset += len(items)
	}
	return nil, &MalformedResponseError{Op: op.Name, HTTPStatus: 200, ContentType: "application/json",
		Reason: "pagination did not end after " + strconv.Itoa(MaxPages) + " full pages; use a larger page size"}
}
