package casework

import (
	"context"

	"whistle/internal/category"
)

// storeCatalog adapts the category store to what casework needs.
type storeCatalog struct{ s *category.Store }

// NewCatalog returns the Catalog backed by the category store.
func NewCatalog(s *category.Store) Catalog { return storeCatalog{s} }

func (c storeCatalog) Lookup(ctx context.Context, code string) (CategoryInfo, error) {
	cat, err := c.s.Get(ctx, code)
	if err != nil {
		return CategoryInfo{}, err
	}
	return CategoryInfo{Code: cat.Code, Name: cat.Name, Workflow: string(cat.Workflow), Active: cat.Active, Urgent: cat.Urgent}, nil
}

func (c storeCatalog) Route(ctx context.Context, code, regionPath string) (string, error) {
	return c.s.Route(ctx, code, regionPath)
}

func (c storeCatalog) ValidateFields(ctx context.Context, code string, values map[string]string) error {
	return c.s.ValidateFields(ctx, code, values)
}
