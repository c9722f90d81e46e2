// Package awsconfig edits the AWS shared config file (~/.aws/config) line by line.
//
// It changes only the lines of the profile it is asked to write; every other byte
// (comments, blank lines, CRLF endings, tabs, odd spacing, other profiles, a missing
// final newline) stays as it was. It does not trust its own idea of the format:
// it reads files the way botocore's configparser-based loader does (pyparse.go)
// and the way aws-sdk-go-v2's internal/ini does (goparse.go), refuses files the
// AWS CLI cannot read, and checks after every edit that both readers see exactly
// the values written. When the two readers would disagree about the profile, it
// returns an error naming the line instead of writing a file one of them misreads.
//
// The caller picks the path (AWS_CONFIG_FILE or ~/.aws/config); Upsert, Remove,
// Get and Diff work on bytes, WriteWithBackup puts them on disk.
package awsconfig
