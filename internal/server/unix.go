package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// listenUnix binds a unix socket at path with mode 0600. The socket is bound under
// a temporary name, restricted, then renamed into place, so it is never reachable
// with the umask's looser mode. A stale socket (nobody accepting) is replaced; a
// live one or any other file is an error.
func listenUnix(ctx context.Context, path string) (net.Listener, error) {
	if path == "" {
		return nil, fmt.Errorf("unix socket address has no path: use %s/run/cwcreds/creds.sock", UnixPrefix)
	}
	path = filepath.Clean(path)
	if err := removeStaleSocket(ctx, path); err != nil {
		return nil, err
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("could not name a temporary socket: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(path), ".cw"+hex.EncodeToString(rnd[:]))
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", tmp)
	if err != nil {
		return nil, fmt.Errorf("could not listen on unix socket %s: %w", path, err)
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false) // the socket moves; unixListener.Close removes it
	fail := func(err error) (net.Listener, error) {
		_ = ul.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail(fmt.Errorf("could not restrict unix socket %s to mode 0600: %w", path, err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("could not put unix socket at %s: %w", path, err))
	}
	fi, err := os.Lstat(path)
	if err != nil {
		_ = ul.Close()
		return nil, fmt.Errorf("could not check unix socket %s: %w", path, err)
	}
	return &unixListener{UnixListener: ul, path: path, fi: fi}, nil
}

func removeStaleSocket(ctx context.Context, path string) error {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("could not check %s: %w", path, err)
	case fi.Mode().Type() != fs.ModeSocket:
		return fmt.Errorf("%s exists and is not a socket: remove it or choose another socket path", path)
	}
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "unix", path)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("another process is serving on %s: stop it or choose another socket path", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not tell whether %s is still in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not remove the stale socket %s: %w", path, err)
	}
	return nil
}

// unixListener removes its socket file on Close, unless another process has put
// its own socket there since.
type unixListener struct {
	*net.UnixListener
	path string
	fi   fs.FileInfo
	once sync.Once
}

// Addr is the socket's final path, not the temporary name it was bound under.
func (l *unixListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

func (l *unixListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, statErr := os.Lstat(l.path); statErr == nil && os.SameFile(fi, l.fi) {
			_ = os.Remove(l.path)
		}
	})
	return err
}
