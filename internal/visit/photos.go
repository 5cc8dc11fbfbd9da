package visit

import (
	"context"
	"io"
	"path"
	"slices"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/registry"
)

// MaxRecorded caps Recorded's list.
const MaxRecorded = 100

// Recorded lists the recorded visits of a person, newest first (at most
// limit, MaxRecorded when 0 or more), with the visit tasks in u's scope
// only: outside it the list is empty, like a person with no visits.
func (s *Store) Recorded(ctx context.Context, u *account.User, personID int64, limit int) (_ []Task, err error) {
	defer errs.Wrapf(&err, "visit.Store.Recorded")
	sc := ScopeOf(u)
	if sc.Denies() {
		return nil, notFound()
	}
	if limit <= 0 || limit > MaxRecorded {
		limit = MaxRecorded
	}
	var w db.Where
	sc.Apply(&w, registry.Columns("t"))
	w.Add("t.person_id = ?", personID)
	w.Add("t.status = 'done'")
	rows, err := s.db.Query(ctx, `SELECT `+taskCols+taskFrom+w.SQL()+` ORDER BY t.visited_at DESC, t.id DESC LIMIT `+w.Arg(limit), w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	now := s.db.Now()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows, now)
		if err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, t)
	}
	return out, db.Translate(rows.Err())
}

// PhotoName is the name of a visit photo in its URL: the last segment of
// its key (visits/{task}/{name}).
func PhotoName(key string) string { return path.Base(key) }

// photoMIME is the content type of a stored photo by its extension
// (AddPhoto names them after media.CheckImage's Ext).
func photoMIME(name string) string {
	switch path.Ext(name) {
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".png":
		return "image/png"
	}
	return "application/octet-stream"
}

// OpenPhoto opens a photo of a recorded visit in u's scope, by its name
// (PhotoName), and returns its content type. A task outside the scope, a
// visit not recorded yet and a name the record does not list are all 404:
// an uploaded photo is shown only once its visit names it.
func (s *Store) OpenPhoto(ctx context.Context, u *account.User, id int64, name string) (_ io.ReadCloser, mime string, err error) {
	defer errs.Wrapf(&err, "visit.Store.OpenPhoto")
	sc := ScopeOf(u)
	if sc.Denies() {
		return nil, "", notFound()
	}
	t, err := s.get(ctx, sc, id)
	if err != nil {
		return nil, "", err
	}
	key := photoPrefix(id) + name
	if t.Status != StatusDone || !slices.Contains(t.Photos, key) {
		return nil, "", errs.E(errs.NotFound, "visit.photo_not_found")
	}
	if s.blob == nil {
		return nil, "", errs.E(errs.Unavailable, "error.unavailable")
	}
	rc, err := s.blob.Open(ctx, key)
	if err != nil {
		return nil, "", err
	}
	return rc, photoMIME(name), nil
}
