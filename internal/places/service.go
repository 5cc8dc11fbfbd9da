package places

import (
	"context"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"whistle/internal/errs"
)

// MaxQueryRunes bounds a search query.
const MaxQueryRunes = 50

// Service answers place searches: the offline gazetteer first, then an
// online geocoder's results where one is configured. An online failure is
// logged and the offline results still returned, so search works on an
// intranet with no way out.
type Service struct {
	gazetteer *Gazetteer
	online    Geocoder // nil: offline only
	logger    *slog.Logger
}

// NewService returns the search over gazetteer and, when not nil, online.
func NewService(gazetteer *Gazetteer, online Geocoder, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{gazetteer: gazetteer, online: online, logger: logger}
}

// Search validates q and returns up to MaxResults places.
func (s *Service) Search(ctx context.Context, q string, near *orb.Point) (_ []Place, err error) {
	defer errs.Wrapf(&err, "places.Service.Search")
	q = strings.TrimSpace(q)
	switch n := utf8.RuneCountInString(q); {
	case n == 0:
		return nil, errs.E(errs.Invalid, "error.invalid").Field("q", "field.required")
	case n > MaxQueryRunes:
		return nil, errs.E(errs.Invalid, "error.invalid").Field("q", "field.too_long", MaxQueryRunes)
	}
	out, err := s.gazetteer.Search(ctx, q, near)
	if err != nil {
		return nil, err
	}
	if s.online == nil || len(out) >= MaxResults {
		return out, nil
	}
	more, err := s.online.Search(ctx, q, near)
	if err != nil {
		s.logger.Warn("online geocoder failed; offline results only", "err", err)
		return out, nil
	}
	seen := map[string]bool{}
	for _, p := range out {
		seen[p.Name] = true
	}
	for _, p := range more {
		if len(out) >= MaxResults {
			break
		}
		if !seen[p.Name] {
			seen[p.Name] = true
			out = append(out, p)
		}
	}
	return out, nil
}
