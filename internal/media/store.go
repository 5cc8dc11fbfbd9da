package media

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"whistle/internal/errs"
)

// BlobStore keeps uploaded files under slash-separated keys. It is small on
// purpose, so that an S3-compatible store can implement it later.
type BlobStore interface {
	// Put stores everything r yields under key, replacing any blob there,
	// and returns once the blob is durable. If r fails, nothing is stored
	// and a previous blob under key is left as it was.
	Put(ctx context.Context, key string, r io.Reader) (Blob, error)
	// Open returns the blob's content; a missing key is errs.NotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Delete removes the blob; a missing key is not an error, as with S3.
	Delete(ctx context.Context, key string) error
}

// Blob describes a stored blob.
type Blob struct {
	Key    string
	Size   int64
	SHA256 string // lowercase hex
}

// maxKeyLen keeps keys well inside file-name and S3 key limits.
const maxKeyLen = 512

// ValidKey reports whether key can name a blob: 1–512 bytes of
// slash-separated segments, each made of lowercase ASCII letters, digits,
// '.', '_' and '-', and starting with a letter or a digit. That rules out
// absolute paths, "..", empty segments and hidden files (FSStore's temporary
// files start with a dot), and means the same on every file system and in S3.
func ValidKey(key string) bool {
	if key == "" || len(key) > maxKeyLen {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || !isLowerAlnum(seg[0]) {
			return false
		}
		for i := 1; i < len(seg); i++ {
			if c := seg[i]; !isLowerAlnum(c) && c != '.' && c != '_' && c != '-' {
				return false
			}
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func checkKey(key string) error {
	if !ValidKey(key) {
		return errs.E(errs.Invalid, "media.bad_key", key)
	}
	return nil
}

// FSStore is a BlobStore in a directory of the local file system (the
// server uses DATA/blobs). Every access goes through os.Root, so that even a
// symbolic link planted inside the directory cannot lead outside it.
type FSStore struct {
	dir string
}

// NewFSStore returns a store in dir, creating the directory if needed.
func NewFSStore(dir string) (*FSStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("media: blob directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("media: blob directory: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("media: blob directory: %w", err)
	}
	root.Close()
	return &FSStore{dir: abs}, nil
}

// Dir returns the store's directory.
func (s *FSStore) Dir() string { return s.dir }

// Put implements BlobStore. The content goes to a temporary file in the
// key's directory, which is synced, renamed into place and followed by a
// sync of the directory: after Put returns, the blob survives a crash, and
// before that, readers see the old blob or none, never half of the new one.
func (s *FSStore) Put(ctx context.Context, key string, r io.Reader) (_ Blob, err error) {
	defer errs.Wrapf(&err, "FSStore.Put(%q)", key)
	if err := checkKey(key); err != nil {
		return Blob{}, err
	}
	if err := ctx.Err(); err != nil {
		return Blob{}, err
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return Blob{}, err
	}
	defer root.Close()
	dir := path.Dir(key)
	if err := mkdirAllSynced(root, dir); err != nil {
		return Blob{}, err
	}

	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return Blob{}, err
	}
	committed := false
	defer func() {
		if !committed {
			f.Close() // a second Close only reports ErrClosed
			_ = root.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		return Blob{}, err
	}
	if err := f.Sync(); err != nil {
		return Blob{}, err
	}
	if err := f.Close(); err != nil {
		return Blob{}, err
	}
	if err := root.Rename(tmp, key); err != nil {
		return Blob{}, err
	}
	committed = true
	if err := syncDir(root, dir); err != nil {
		return Blob{}, err
	}
	return Blob{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Open implements BlobStore.
func (s *FSStore) Open(ctx context.Context, key string) (_ io.ReadCloser, err error) {
	defer errs.Wrapf(&err, "FSStore.Open(%q)", key)
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close() // the file stays open without its root
	f, err := root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errs.E(errs.NotFound, "media.not_found").Wrap(err)
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, err
		}
		return nil, errs.E(errs.NotFound, "media.not_found") // a directory is no blob
	}
	return f, nil
}

// Delete implements BlobStore. The directory is not synced: a delete undone
// by a crash leaves an orphan file, not a broken record.
func (s *FSStore) Delete(ctx context.Context, key string) (err error) {
	defer errs.Wrapf(&err, "FSStore.Delete(%q)", key)
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	fi, err := root.Lstat(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errs.E(errs.NotFound, "media.not_found") // never remove a directory
	}
	if err := root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// mkdirAllSynced creates dir and its missing parents inside root, syncing
// the parent of each directory it creates, so that a later synced rename is
// not lost with a directory entry that was never written out.
func mkdirAllSynced(root *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	parent := "."
	for seg := range strings.SplitSeq(dir, "/") {
		p := path.Join(parent, seg)
		err := root.Mkdir(p, 0o750)
		switch {
		case err == nil:
			if err := syncDir(root, parent); err != nil {
				return err
			}
		case !errors.Is(err, fs.ErrExist):
			return err
		}
		parent = p
	}
	return nil
}

// syncDir fsyncs a directory, making the entries created in it durable.
func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// ctxReader stops a long copy when the request is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
