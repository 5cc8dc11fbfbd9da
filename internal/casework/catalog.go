package casework

import (
	"context"
	"sync"
	"time"

	"whistle/internal/category"
)

// catalogTTL is how long category facts and routing answers are reused.
// Every submission needs them; admins' edits take effect within this time
// (on every replica, since nothing is shared but the database).
const catalogTTL = 5 * time.Second

// storeCatalog adapts the category store to what casework needs, with a
// short-lived cache in front of it.
type storeCatalog struct {
	s  *category.Store
	mu sync.Mutex
	// cats holds answers with the time they were fetched, router the
	// routing snapshot with its own.
	cats     map[string]cachedCategory
	router   *category.Router
	routerAt time.Time
}

type cachedCategory struct {
	c  *category.Category
	at time.Time
}

// NewCatalog returns the Catalog backed by the category store.
func NewCatalog(s *category.Store) Catalog {
	return &storeCatalog{s: s, cats: map[string]cachedCategory{}}
}

func (c *storeCatalog) get(ctx context.Context, code string) (*category.Category, error) {
	c.mu.Lock()
	e, ok := c.cats[code]
	c.mu.Unlock()
	if ok && time.Since(e.at) < catalogTTL {
		return e.c, nil
	}
	cat, err := c.s.Get(ctx, code)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.cats) > 10000 {
		c.cats = map[string]cachedCategory{}
	}
	c.cats[code] = cachedCategory{c: cat, at: time.Now()}
	c.mu.Unlock()
	return cat, nil
}

func (c *storeCatalog) Lookup(ctx context.Context, code string) (CategoryInfo, error) {
	cat, err := c.get(ctx, code)
	if err != nil {
		return CategoryInfo{}, err
	}
	return CategoryInfo{Code: cat.Code, Name: cat.Name, Workflow: string(cat.Workflow), Active: cat.Active, Urgent: cat.Urgent}, nil
}

// Route routes on the catalogue's routing snapshot (category.Router),
// read again when it is catalogTTL old: a case's category and place take
// no query, however many places and categories the cases spread over.
func (c *storeCatalog) Route(ctx context.Context, code, regionPath string) (string, error) {
	c.mu.Lock()
	r, at := c.router, c.routerAt
	c.mu.Unlock()
	if r == nil || time.Since(at) >= catalogTTL {
		var err error
		if r, err = c.s.Router(ctx); err != nil {
			return "", err
		}
		c.mu.Lock()
		c.router, c.routerAt = r, time.Now()
		c.mu.Unlock()
	}
	rt, err := r.Explain(code, regionPath)
	return rt.Department, err
}

func (c *storeCatalog) ValidateFields(ctx context.Context, code string, values map[string]string) error {
	cat, err := c.get(ctx, code)
	if err != nil {
		return err
	}
	return category.ValidateFields(cat, values)
}
