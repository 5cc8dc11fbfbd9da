package casework

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"strconv"
	"strings"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/media"
)

// Blobs stores photo bytes; media.FSStore is the default.
type Blobs = media.BlobStore

// AddPhoto checks an uploaded image by its content and attaches it to a
// case: "before" photos by the reporter or staff while the case is young,
// "after" photos by the handler. The file is stored before the row is
// committed, so a 201 means both exist.
func (s *Service) AddPhoto(ctx context.Context, caller Caller, id int64, kind string, r io.Reader) (_ *Photo, err error) {
	defer errs.Wrapf(&err, "casework.AddPhoto(%d)", id)
	c, err := s.Get(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	if kind == "" {
		kind = "before"
	}
	if kind != "before" && kind != "after" {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("kind", "case.bad_photo_kind")
	}
	if !mayUpload(c, caller, kind) {
		return nil, errs.E(errs.Forbidden, "case.not_permitted", "photo")
	}
	img, data, err := media.CheckImage(r, media.DefaultMaxPhotoBytes)
	if err != nil {
		return nil, err
	}
	// The phone's EXIF GPS and serials are the resident's, not the case's.
	data = media.StripMetadata(img, data)
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM case_photos WHERE case_id = $1 AND kind = $2`, id, kind).Scan(&n); err != nil {
		return nil, err
	}
	if n >= media.MaxPhotos {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("photo", "case.too_many_photos", media.MaxPhotos)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	now := s.db.Now().In(s.loc)
	key := "cases/" + now.Format("2006/01/02") + "/" + strconv.FormatInt(id, 10) + "-" + hex.EncodeToString(rnd[:]) + "." + img.Ext
	blob, err := s.blobs.Put(ctx, key, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	p := &Photo{CaseID: id, Kind: kind, BlobKey: key, MIME: img.MIME, Size: blob.Size, Width: img.Width, Height: img.Height}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		p.CreatedAt = tx.Now()
		var uploader any
		if uid := caller.id(); uid != 0 {
			uploader = uid
		}
		var err error
		p.ID, err = tx.InsertID(ctx, `INSERT INTO case_photos (case_id, kind, blob_key, mime, size, width, height, sha256, uploaded_by, created_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id`, id, kind, key, img.MIME, blob.Size, img.Width, img.Height, blob.SHA256, uploader, tx.Now())
		if err != nil {
			return err
		}
		// A photo at submission belongs to the submit step of the timeline.
		if kind == "before" {
			_, err = tx.Exec(ctx, `UPDATE case_photos SET event_id = (SELECT MIN(id) FROM case_events WHERE case_id = $1) WHERE id = $2`, id, p.ID)
		}
		return err
	})
	if err != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
		return nil, err
	}
	return p, nil
}

// mayUpload: before-photos by the reporter or staff in scope while the case
// awaits acceptance; after-photos by the handler or staff.
func mayUpload(c *Case, caller Caller, kind string) bool {
	u := caller.User
	if u == nil {
		return false
	}
	reporter := c.ReporterID != 0 && c.ReporterID == u.ID
	staff := u.Has(account.CommunityStaff) || u.Has(account.StreetStaff) || u.Has(account.GridWorker) || u.Has(account.Admin)
	if kind == "before" {
		return (reporter || staff) && (c.Status == Submitted || c.Status == Accepted || c.Status == Registered)
	}
	return isAssignee(c, u) || (staff && c.IsOpen())
}

func (s *Service) photos(ctx context.Context, caseID int64) ([]Photo, error) {
	rows, err := s.db.Query(ctx, `SELECT id, case_id, COALESCE(event_id, 0), kind, blob_key, mime, size, width, height, created_at
		FROM case_photos WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Photo
	for rows.Next() {
		var p Photo
		var at db.Time
		if err := rows.Scan(&p.ID, &p.CaseID, &p.EventID, &p.Kind, &p.BlobKey, &p.MIME, &p.Size, &p.Width, &p.Height, &at); err != nil {
			return nil, err
		}
		p.CreatedAt = at.Time
		out = append(out, p)
	}
	return out, rows.Err()
}

// Photos lists a case's photos for a caller who may see the case.
func (s *Service) Photos(ctx context.Context, caller Caller, id int64) (_ []Photo, err error) {
	defer errs.Wrapf(&err, "casework.Service.Photos")
	if _, err := s.View(ctx, caller, id); err != nil {
		return nil, err
	}
	return s.photos(ctx, id)
}

// OpenPhoto returns a photo's bytes for a caller who may see its case.
func (s *Service) OpenPhoto(ctx context.Context, caller Caller, caseID, photoID int64) (_ *Photo, _ io.ReadCloser, err error) {
	defer errs.Wrapf(&err, "casework.Service.OpenPhoto")
	ps, err := s.Photos(ctx, caller, caseID)
	if err != nil {
		return nil, nil, err
	}
	for i := range ps {
		if ps[i].ID == photoID {
			rc, err := s.blobs.Open(ctx, ps[i].BlobKey)
			if err != nil {
				return nil, nil, err
			}
			return &ps[i], rc, nil
		}
	}
	return nil, nil, errs.E(errs.NotFound, "case.photo_not_found")
}

// attachPhotos links uploaded after-photos to the step that used them.
func (s *Service) attachPhotos(ctx context.Context, tx *db.Tx, caseID, eventID int64, ids []int64) error {
	ph := make([]string, len(ids))
	args := []any{eventID, caseID}
	for i, id := range ids {
		args = append(args, id)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	res, err := tx.Exec(ctx, `UPDATE case_photos SET event_id = $1 WHERE case_id = $2 AND event_id IS NULL AND id IN (`+strings.Join(ph, ",")+`)`, args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); int(n) != len(ids) {
		return errs.E(errs.Invalid, "error.invalid").Field(FieldPhotos, "case.bad_photos")
	}
	return nil
}
