//go:build !unix

package fileutil

import "os"

// On Windows, ownership is governed by ACLs on the user's profile folder.
func ownedByMe(os.FileInfo) bool { return true }

// OwnedByMe reports whether the file behind fi belongs to the effective user.
func OwnedByMe(fi os.FileInfo) bool { return ownedByMe(fi) }
