package awsconfig

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// CredentialProcessCommand joins argv (the absolute path of cwcreds and its
// arguments) into a credential_process value that runs the same argv under every
// reader of the AWS config file.
//
// On Unix-like systems botocore shlex-splits the value and the Go, Java and JS
// SDKs hand it to `sh -c`. Arguments made only of letters, digits and
// _ @ % + : , . / - (and = after the first) are written bare; others are wrapped
// in double quotes, which both readers take literally as long as the argument
// holds no " $ ` \ or control character; those are refused. Go's reader strips a
// value that both starts and ends with '"', so a quoted last argument leaves its
// final character outside the quotes.
//
// On Windows botocore splits on spaces and the Go SDK runs `cmd.exe /C`, which
// mangles a quoted path with spaces (aws/aws-sdk-go-v2#3208); so there every
// argument must be bare: letters, digits and _ . : \ / + @ ~ -. A path with
// spaces is refused with a hint to use its 8.3 short form or another folder.
func CredentialProcessCommand(windows bool, argv ...string) (string, error) {
	if len(argv) == 0 || argv[0] == "" {
		return "", fmt.Errorf("credential_process needs a program to run")
	}
	words := make([]string, len(argv))
	for i, a := range argv {
		var err error
		if windows {
			words[i], err = windowsWord(i, a)
		} else {
			words[i], err = posixWord(i, a, i == len(argv)-1)
		}
		if err != nil {
			return "", err
		}
	}
	v := strings.Join(words, " ")
	if err := checkValue("credential_process", v); err != nil {
		return "", err
	}
	return v, nil
}

func posixBare(a string, first bool) bool {
	if a == "" {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("_@%+:,./-", c) >= 0 || c == '=' && !first
		if !ok {
			return false
		}
	}
	return true
}

func posixWord(i int, a string, last bool) (string, error) {
	if posixBare(a, i == 0) {
		return a, nil
	}
	if !utf8.ValidString(a) || strings.ContainsAny(a, "\"$`\\") ||
		strings.IndexFunc(a, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("argument %d of credential_process (%q) holds a character (\" $ ` \\ or a control character) that the AWS CLI and the AWS SDKs would read differently: use a path without it", i+1, a)
	}
	if last && a != "" && posixBare(a[len(a)-1:], false) {
		// "abc"d is one word to sh and shlex, and does not end with a quote.
		return `"` + a[:len(a)-1] + `"` + a[len(a)-1:], nil
	}
	return `"` + a + `"`, nil
}

func windowsWord(i int, a string) (string, error) {
	ok := a != ""
	for j := 0; ok && j < len(a); j++ {
		c := a[j]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(`_.:\/+@~-`, c) >= 0
	}
	if !ok {
		return "", fmt.Errorf("argument %d of credential_process (%q) needs quoting, which the AWS SDK for Go cannot run on Windows (aws/aws-sdk-go-v2#3208): install cwcreds in a folder whose path has no spaces or special characters, or use its short 8.3 path (dir /x)", i+1, a)
	}
	return a, nil
}
