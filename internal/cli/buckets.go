package cli

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/output"
)

func newBucketsCommand(env Env) *cobra.Command {
	f := &adminFlags{}
	cmd := adminGroup("buckets", "List buckets, show one, change its settings",
		"Read bucket information and change bucket settings through the CoreWeave API.", f)
	cmd.AddCommand(newBucketsListCommand(env, f), newBucketsGetCommand(env, f), newBucketsSetCommand(env, f))
	return cmd
}

// bucketSettingsView is BucketSettings with numbers as numbers; absent: not set.
type bucketSettingsView struct {
	AuditLogging               *bool   `json:"auditLoggingEnabled,omitempty"`
	ArchiveEnabled             *bool   `json:"archiveEnabled,omitempty"`
	ArchiveAfterLastAccessDays *int64  `json:"archiveAfterLastAccessDays,omitempty"`
	CapacityCapBytes           *uint64 `json:"capacityCapBytes,omitempty"`
	ConfiguredCapacityCapBytes *uint64 `json:"configuredCapacityCapBytes,omitempty"`
}

type usageView struct {
	MeasurementType    string `json:"measurementType"`
	Value              uint64 `json:"value"`
	ValueHumanReadable string `json:"valueHumanReadable,omitempty"`
}

type bucketView struct {
	Name         string             `json:"name"`
	Location     string             `json:"location"`
	CreationTime time.Time          `json:"creationTime"`
	OrgID        string             `json:"orgId,omitempty"`
	Settings     bucketSettingsView `json:"settings"`
	Usage        []usageView        `json:"usage,omitempty"`
}

func viewSettings(s cwobject.BucketSettings) bucketSettingsView {
	return bucketSettingsView{AuditLogging: s.AuditLoggingEnabled, ArchiveEnabled: s.ArchiveEnabled,
		ArchiveAfterLastAccessDays: s.ArchiveAfterLastAccessDays, CapacityCapBytes: s.CapacityCapBytes,
		ConfiguredCapacityCapBytes: s.ConfiguredCapacityCapBytes}
}

func viewBucket(b cwobject.BucketInfo) bucketView {
	v := bucketView{Name: b.Name, Location: b.Location, CreationTime: b.CreationTime.UTC(), OrgID: b.OrgID, Settings: viewSettings(b.Settings)}
	for _, u := range b.Usage {
		v.Usage = append(v.Usage, usageView(u))
	}
	return v
}

func (b bucketView) usage(kind string) string {
	for _, u := range b.Usage {
		if u.MeasurementType == kind {
			if u.ValueHumanReadable != "" {
				return u.ValueHumanReadable
			}
			return strconv.FormatUint(u.Value, 10)
		}
	}
	return "-"
}

func onOff(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "on"
	}
	return "off"
}

func archiveCell(s bucketSettingsView) string {
	switch {
	case s.ArchiveEnabled != nil && !*s.ArchiveEnabled:
		return "off"
	case s.ArchiveAfterLastAccessDays != nil:
		return "after " + strconv.FormatInt(*s.ArchiveAfterLastAccessDays, 10) + "d"
	case s.ArchiveEnabled != nil:
		return "on"
	}
	return "-"
}

func capCell(s bucketSettingsView) string {
	c := s.ConfiguredCapacityCapBytes
	if c == nil {
		c = s.CapacityCapBytes
	}
	switch {
	case c == nil:
		return "-"
	case *c == 0:
		return "none"
	}
	return formatSize(*c)
}

func bucketRows(bs []bucketView) output.Rows {
	t := output.Rows{Header: []string{"NAME", "LOCATION", "CREATED", "SIZE", "OBJECTS", "AUDIT LOGGING", "ARCHIVE", "CAPACITY CAP"}}
	for _, b := range bs {
		t.Rows = append(t.Rows, []string{b.Name, b.Location, b.CreationTime.Format(time.RFC3339),
			b.usage(cwobject.UsageBucketSizeBytes), b.usage(cwobject.UsageObjectCount),
			onOff(b.Settings.AuditLogging), archiveCell(b.Settings), capCell(b.Settings)})
	}
	return t
}

func newBucketsListCommand(env Env, f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every bucket of the organization (all pages)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExitCode(runBucketsList(cmd.Context(), env, f))
		},
	}
}

func runBucketsList(ctx context.Context, env Env, f *adminFlags) error {
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	infos, err := c.AllBucketInfo(ctx, 0)
	if err != nil {
		return fmt.Errorf("could not list buckets: %w", err)
	}
	bs := []bucketView{}
	for _, b := range infos {
		bs = append(bs, viewBucket(b))
	}
	return p.Print(bs, bucketRows(bs))
}

func newBucketsGetCommand(env Env, f *adminFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show one bucket: location, usage and settings",
		Args:  exactArgs(1, "one bucket name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExitCode(runBucketsGet(cmd.Context(), env, f, args[0]))
		},
	}
}

func bucketError(name string, err error) error {
	if cwobject.CodeOf(err) == cwobject.CodeNotFound {
		return fmt.Errorf("no bucket %q in this organization (see `cwcreds buckets list`): %w", name, err)
	}
	return fmt.Errorf("bucket %q: %w", name, err)
}

func runBucketsGet(ctx context.Context, env Env, f *adminFlags, name string) error {
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	info, err := c.GetBucketInfo(ctx, name)
	if err != nil {
		return bucketError(name, err)
	}
	b := viewBucket(*info)
	return p.Print(b, bucketRows([]bucketView{b}))
}

type bucketsSetOptions struct {
	auditLogging, capacityCap string
	archiveAfterDays          int64
}

// minArchiveAfterDays is the smallest archiveAfterLastAccessDays the API takes. [fact: design]
const minArchiveAfterDays = 60

func newBucketsSetCommand(env Env, f *adminFlags) *cobra.Command {
	o := &bucketsSetOptions{}
	cmd := &cobra.Command{
		Use:   "set NAME [--audit-logging on|off] [--archive-after-days N] [--capacity-cap SIZE]",
		Short: "Change a bucket's settings; the others stay as they are",
		Long: "Change the settings given; the others stay as they are. --archive-after-days N\n" +
			"(at least 60) archives objects not read for N days, 0 turns archiving off.\n" +
			"--capacity-cap takes a size such as 500GB or 10TiB (SI and IEC units), 0 or none\n" +
			"for no cap.",
		Args: exactArgs(1, "one bucket name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExitCode(runBucketsSet(cmd, env, f, o, args[0]))
		},
	}
	cmd.Flags().StringVar(&o.auditLogging, "audit-logging", "", "on or off")
	cmd.Flags().Int64Var(&o.archiveAfterDays, "archive-after-days", 0, "archive objects after N days without access (N ≥ 60); 0: no archiving")
	cmd.Flags().StringVar(&o.capacityCap, "capacity-cap", "", "the most the bucket may hold, e.g. 10TiB; 0 or none: no cap")
	return cmd
}

func runBucketsSet(cmd *cobra.Command, env Env, f *adminFlags, o *bucketsSetOptions, name string) error {
	ctx := cmd.Context()
	var s cwobject.BucketSettings
	changed := false
	if cmd.Flags().Changed("audit-logging") {
		v, err := parseOnOff("--audit-logging", o.auditLogging)
		if err != nil {
			return err
		}
		s.AuditLoggingEnabled, changed = &v, true
	}
	if cmd.Flags().Changed("archive-after-days") {
		switch d := o.archiveAfterDays; {
		case d == 0:
			off := false
			s.ArchiveEnabled = &off
		case d < minArchiveAfterDays:
			return invalidInput("--archive-after-days %d: the API archives after %d days at the earliest; pass 0 to turn archiving off", d, minArchiveAfterDays)
		default:
			on := true
			s.ArchiveEnabled, s.ArchiveAfterLastAccessDays = &on, &d
		}
		changed = true
	}
	if cmd.Flags().Changed("capacity-cap") {
		n, err := parseSize(o.capacityCap)
		if err != nil {
			return invalidInput("--capacity-cap %q: %v", o.capacityCap, err)
		}
		s.CapacityCapBytes, changed = &n, true
	}
	if !changed {
		return invalidInput("nothing to change: pass --audit-logging on|off, --archive-after-days N or --capacity-cap SIZE")
	}
	p, c, err := f.open(ctx, env)
	if err != nil {
		return err
	}
	after, err := c.SetBucketSettings(ctx, cwobject.SetBucketSettingsRequest{BucketName: name, Settings: s})
	if err != nil {
		return bucketError(name, err)
	}
	v := viewSettings(*after)
	t := output.Rows{Header: []string{"BUCKET", "AUDIT LOGGING", "ARCHIVE", "CAPACITY CAP"},
		Rows: [][]string{{name, onOff(v.AuditLogging), archiveCell(v), capCell(v)}}}
	return p.Print(struct {
		Bucket   string             `json:"bucket"`
		Settings bucketSettingsView `json:"settings"`
	}{name, v}, t)
}

func parseOnOff(flag, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "on", "true", "yes":
		return true, nil
	case "off", "false", "no":
		return false, nil
	}
	return false, invalidInput("%s %q: use on or off", flag, v)
}

var sizeUnits = []struct {
	suffix string
	factor uint64
}{
	// Longest suffixes first, so that "KiB" is not read as "B".
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"PiB", 1 << 50}, {"EiB", 1 << 60},
	{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"PB", 1e15}, {"EB", 1e18},
	{"B", 1},
}

// parseSize reads "10TiB", "500GB", "1.5 TB", "1073741824" (bytes), or 0 / none.
func parseSize(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "none" || s == "0" {
		return 0, nil
	}
	num, factor := s, uint64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, factor = strings.TrimSpace(n), u.factor
			break
		}
	}
	if n, err := strconv.ParseUint(num, 10, 64); err == nil {
		if n > math.MaxUint64/factor {
			return 0, fmt.Errorf("too large")
		}
		return n * factor, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a size: write a number and a unit, such as 500GB or 10TiB (single letters like 10T are ambiguous)")
	}
	v := f * float64(factor)
	if v >= math.MaxUint64 {
		return 0, fmt.Errorf("too large")
	}
	if v != math.Trunc(v) {
		return 0, fmt.Errorf("is not a whole number of bytes")
	}
	return uint64(v), nil
}

// formatSize shows bytes in IEC units, as the API's human-readable values do.
func formatSize(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	v := math.Round(float64(n)/float64(div)*10) / 10
	return strconv.FormatFloat(v, 'f', -1, 64) + " " + string("KMGTPE"[exp]) + "iB"
}
