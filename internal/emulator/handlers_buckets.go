package emulator

import (
	"fmt"
	"sort"
	"strconv"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
)

// minArchiveAfterDays is the smallest archiveAfterLastAccessDays the API takes
// (shared/design/cwobject-api.md, BucketSettings).
const minArchiveAfterDays = 60

type listBucketInfoResponse struct {
	Info []cwobject.BucketInfo `json:"info"`
}

type getBucketInfoResponse struct {
	Info cwobject.BucketInfo `json:"info"`
}

// humanBytes renders a size with IEC units, e.g. "1.5 KiB".
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func (e *Emulator) bucketInfo(b s3emu.BucketMeta) cwobject.BucketInfo {
	e.mu.Lock()
	settings := cloneBucketSettings(e.bucketSettings[b.Name])
	e.mu.Unlock()
	objects := uint64(max(b.Objects, 0))
	return cwobject.BucketInfo{
		OrgID:        e.orgID,
		Name:         b.Name,
		CreationTime: b.CreationTime.UTC(),
		Settings:     settings,
		Location:     e.cfg.Region,
		Usage: []cwobject.BucketUsage{
			{MeasurementType: cwobject.UsageBucketSizeBytes, Value: b.Bytes, ValueHumanReadable: humanBytes(b.Bytes)},
			{MeasurementType: cwobject.UsageObjectCount, Value: objects, ValueHumanReadable: strconv.FormatUint(objects, 10)},
		},
	}
}

func (e *Emulator) listBucketInfo(c *call) (any, *apiError) {
	offset, limit, _, aerr := decodeListQuery(c.r.URL.Query(), false)
	if aerr != nil {
		return nil, aerr
	}
	buckets := e.s3.Buckets()
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].Name < buckets[j].Name })
	buckets = page(buckets, offset, limit)
	out := listBucketInfoResponse{Info: make([]cwobject.BucketInfo, 0, len(buckets))}
	for _, b := range buckets {
		out.Info = append(out.Info, e.bucketInfo(b))
	}
	return out, nil
}

func (e *Emulator) getBucketInfo(c *call) (any, *apiError) {
	name := c.r.PathValue("bucketName")
	b, ok := e.s3.Bucket(name)
	if !ok {
		return nil, errorf(cwobject.CodeNotFound, "bucket %q not found", name)
	}
	return getBucketInfoResponse{Info: e.bucketInfo(b)}, nil
}

func cloneBucketSettings(s cwobject.BucketSettings) cwobject.BucketSettings {
	return cwobject.BucketSettings{
		AuditLoggingEnabled:        clonePtr(s.AuditLoggingEnabled),
		ArchiveEnabled:             clonePtr(s.ArchiveEnabled),
		ArchiveAfterLastAccessDays: clonePtr(s.ArchiveAfterLastAccessDays),
		CapacityCapBytes:           clonePtr(s.CapacityCapBytes),
		ConfiguredCapacityCapBytes: clonePtr(s.ConfiguredCapacityCapBytes),
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// toggleAction names the Enable/Disable action for a wrapper bool being set.
func toggleAction(v *bool, enable, disable string) []string {
	switch {
	case v == nil:
		return nil
	case *v:
		return []string{enable}
	default:
		return []string{disable}
	}
}

func (e *Emulator) setBucketSettings(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeSetBucketSettings(body)
	if aerr != nil {
		return nil, aerr
	}
	if req.BucketName == "" {
		return nil, invalidArgument("bucketName is required")
	}
	if aerr := c.authorize(toggleAction(req.Settings.AuditLoggingEnabled,
		"cwobject:EnableBucketAuditLogging", "cwobject:DisableBucketAuditLogging")...); aerr != nil {
		return nil, aerr
	}
	if d := req.Settings.ArchiveAfterLastAccessDays; d != nil && *d < minArchiveAfterDays {
		return nil, invalidArgument("archiveAfterLastAccessDays must be at least %d", minArchiveAfterDays)
	}
	if _, ok := e.s3.Bucket(req.BucketName); !ok {
		return nil, errorf(cwobject.CodeNotFound, "bucket %q not found", req.BucketName)
	}
	in := req.Settings
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := e.bucketSettings[req.BucketName]
	if in.AuditLoggingEnabled != nil {
		cur.AuditLoggingEnabled = clonePtr(in.AuditLoggingEnabled)
	}
	if in.ArchiveEnabled != nil {
		cur.ArchiveEnabled = clonePtr(in.ArchiveEnabled)
	}
	if in.ArchiveAfterLastAccessDays != nil {
		cur.ArchiveAfterLastAccessDays = clonePtr(in.ArchiveAfterLastAccessDays)
	}
	// capacityCapBytes is what the caller asks for; the configured value echoes it.
	if in.CapacityCapBytes != nil {
		cur.CapacityCapBytes = clonePtr(in.CapacityCapBytes)
		cur.ConfiguredCapacityCapBytes = clonePtr(in.CapacityCapBytes)
	}
	e.bucketSettings[req.BucketName] = cur
	return cwobject.SetBucketSettingsResponse{Settings: cloneBucketSettings(cur)}, nil
}

func (e *Emulator) setOrganizationSettings(c *call) (any, *apiError) {
	body, aerr := c.body()
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := decodeSetOrganizationSettings(body)
	if aerr != nil {
		return nil, aerr
	}
	in := req.Settings
	actions := append(
		toggleAction(in.ControlPlaneAuditLoggingEnabled, "cwobject:EnableControlPlaneAuditLogging", "cwobject:DisableControlPlaneAuditLogging"),
		toggleAction(in.BucketAuditLoggingEnabled, "cwobject:EnableBucketAuditLoggingDefault", "cwobject:DisableBucketAuditLoggingDefault")...)
	if aerr := c.authorize(actions...); aerr != nil {
		return nil, aerr
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if in.ControlPlaneAuditLoggingEnabled != nil {
		e.orgSettings.ControlPlaneAuditLoggingEnabled = clonePtr(in.ControlPlaneAuditLoggingEnabled)
	}
	if in.BucketAuditLoggingEnabled != nil {
		e.orgSettings.BucketAuditLoggingEnabled = clonePtr(in.BucketAuditLoggingEnabled)
	}
	return cwobject.SetOrganizationSettingsResponse{Settings: cwobject.OrganizationSettings{
		ControlPlaneAuditLoggingEnabled: clonePtr(e.orgSettings.ControlPlaneAuditLoggingEnabled),
		BucketAuditLoggingEnabled:       clonePtr(e.orgSettings.BucketAuditLoggingEnabled),
	}}, nil
}
