package media

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"whistle/internal/errs"
)

func newStore(t *testing.T) *FSStore {
	t.Helper()
	s, err := NewFSStore(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readBlob(t *testing.T, s BlobStore, key string) string {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// files lists every regular file under dir, relative and slash-separated.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFSStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	var bs BlobStore = s
	key := "cases/2026/11/23/0123abcd.jpg"
	content := "not really a photo, but bytes are bytes"
	blob, err := bs.Put(ctx, key, strings.NewReader(content))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	sum := sha256.Sum256([]byte(content))
	if want := (Blob{Key: key, Size: int64(len(content)), SHA256: hex.EncodeToString(sum[:])}); blob != want {
		t.Errorf("Put: got %+v, want %+v", blob, want)
	}
	if got := readBlob(t, bs, key); got != content {
		t.Errorf("Open: got %q, want %q", got, content)
	}
	if got, want := files(t, s.Dir()), []string{key}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("files after Put: got %q, want %q (no temporary files left)", got, want)
	}

	// Put replaces.
	if _, err := bs.Put(ctx, key, strings.NewReader("second")); err != nil {
		t.Fatal(err)
	}
	if got, want := readBlob(t, bs, key), "second"; got != want {
		t.Errorf("after a second Put: got %q, want %q", got, want)
	}

	if err := bs.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := bs.Open(ctx, key); !errs.Is(err, errs.NotFound) {
		t.Errorf("Open after Delete: got %v, want not_found", err)
	}
	if err := bs.Delete(ctx, key); err != nil {
		t.Errorf("second Delete: got %v, want nil", err)
	}
}

func TestFSStoreOpenMissing(t *testing.T) {
	s := newStore(t)
	if _, err := s.Put(context.Background(), "cases/a.jpg", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"cases/b.jpg", "other/a.jpg", "cases"} {
		_, err := s.Open(context.Background(), key)
		e, ok := errs.As(err)
		if !ok || e.Code != errs.NotFound || e.Msg.Key != "media.not_found" {
			t.Errorf("Open(%q): got %v, want not_found/media.not_found", key, err)
		}
	}
	// Delete never removes a directory, even an empty-looking key prefix.
	if err := s.Delete(context.Background(), "cases"); !errs.Is(err, errs.NotFound) {
		t.Errorf("Delete(directory): got %v, want not_found", err)
	}
	if got, want := readBlob(t, s, "cases/a.jpg"), "x"; got != want {
		t.Errorf("blob after Delete(directory): got %q, want %q", got, want)
	}
}

func TestValidKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want bool
	}{
		{"cases/2026/11/23/0123abcd.jpg", true},
		{"a", true},
		{"a-b_c.d/e.f.g", true},
		{"cases/2026/11/23/42-9f86d081884c7d65..jpg", true}, // ugly, harmless
		{"", false},
		{"/etc/passwd", false},
		{"../x", false},
		{"a/../b", false},
		{"a/./b", false},
		{"..", false},
		{".", false},
		{"a//b", false},
		{"a/", false},
		{"A.jpg", false},
		{`a\b`, false},
		{"a b", false},
		{".hidden", false},
		{"a/.tmp-123", false},
		{"_a", false},
		{"cases/照片.jpg", false},
		{"a\x00b", false},
		{strings.Repeat("a", 512), true},
		{strings.Repeat("a", 513), false},
	} {
		if got := ValidKey(tc.key); got != tc.want {
			t.Errorf("ValidKey(%q): got %v, want %v", tc.key, got, tc.want)
		}
	}
}

func TestFSStoreRefusesBadKeys(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	for _, key := range []string{"", "/abs.jpg", "../escape.jpg", "a/../../b.jpg", "Cases/x.jpg", ".tmp-x"} {
		_, putErr := s.Put(ctx, key, strings.NewReader("x"))
		_, openErr := s.Open(ctx, key)
		delErr := s.Delete(ctx, key)
		for op, err := range map[string]error{"Put": putErr, "Open": openErr, "Delete": delErr} {
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Invalid || e.Msg.Key != "media.bad_key" {
				t.Errorf("%s(%q): got %v, want invalid/media.bad_key", op, key, err)
			}
		}
	}
	if got := files(t, filepath.Dir(s.Dir())); len(got) != 0 {
		t.Errorf("files after refused keys: got %q, want none", got)
	}
}

func TestFSStoreFailedPutLeavesNothing(t *testing.T) {
	boom := errors.New("client went away")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		r    func() io.Reader
		want error
	}{
		{"reader fails at once", context.Background(), func() io.Reader { return iotest.ErrReader(boom) }, boom},
		{"reader fails half way", context.Background(), func() io.Reader {
			return io.MultiReader(strings.NewReader("partial photo"), iotest.ErrReader(boom))
		}, boom},
		{"context cancelled", cancelled, func() io.Reader { return strings.NewReader("x") }, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if _, err := s.Put(tc.ctx, "cases/new.jpg", tc.r()); !errors.Is(err, tc.want) {
				t.Errorf("Put(new key): got %v, want %v", err, tc.want)
			}
			if got := files(t, s.Dir()); len(got) != 0 {
				t.Errorf("files after a failed Put: got %q, want none", got)
			}

			// A failed replacement leaves the old blob whole.
			if _, err := s.Put(context.Background(), "cases/old.jpg", strings.NewReader("old")); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Put(tc.ctx, "cases/old.jpg", tc.r()); err == nil {
				t.Fatalf("Put(existing key): got nil error, want one")
			}
			if got, want := readBlob(t, s, "cases/old.jpg"), "old"; got != want {
				t.Errorf("blob after a failed replacement: got %q, want %q", got, want)
			}
			if got, want := files(t, s.Dir()), []string{"cases/old.jpg"}; len(got) != 1 || got[0] != want[0] {
				t.Errorf("files after a failed replacement: got %q, want %q", got, want)
			}
		})
	}
}

func TestFSStoreStaysInsideItsDirectory(t *testing.T) {
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.jpg"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	// A valid key whose first segment is a planted symlink to elsewhere.
	if err := os.Symlink(outside, filepath.Join(s.Dir(), "cases")); err != nil {
		t.Skipf("cannot create a symlink: %v", err)
	}
	ctx := context.Background()
	if rc, err := s.Open(ctx, "cases/secret.jpg"); err == nil {
		rc.Close()
		t.Errorf("Open through a symlink out of the store: got the file, want an error")
	}
	if _, err := s.Put(ctx, "cases/planted.jpg", strings.NewReader("x")); err == nil {
		t.Errorf("Put through a symlink out of the store: got nil error, want one")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted.jpg")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a file appeared outside the store: %v", err)
	}
}

func TestNewFSStoreOnAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFSStore(f); err == nil {
		t.Errorf("NewFSStore(%s): got nil error for a regular file, want one", f)
	}
}

// cancellingReader cancels its context after handing out some bytes, as a
// request does when the client disconnects mid-upload.
type cancellingReader struct {
	cancel context.CancelFunc
	reads  int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	c.reads++
	switch c.reads {
	case 1:
		c.cancel()
		return copy(p, "first"), nil
	case 2, 3:
		return copy(p, "more"), nil
	}
	return 0, io.EOF
}

func TestFSStorePutStopsWhenCancelled(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.Put(ctx, "cases/x.jpg", &cancellingReader{cancel: cancel}); !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if got := files(t, s.Dir()); len(got) != 0 {
		t.Errorf("files after a cancelled Put: got %q, want none", got)
	}
}
