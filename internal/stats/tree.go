package stats

import (
	"context"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// Node is a region node as the answers name it.
type Node struct {
	Code         string       `json:"code"`
	Name         string       `json:"name"`
	Level        region.Level `json:"level"`
	Illustrative bool         `json:"illustrative"`
	path         string
	parent       string
	children     []string
}

// Ref returns the short form of the node.
func (n *Node) Ref() region.Ref { return region.Ref{Code: n.Code, Name: n.Name, Level: n.Level} }

// tree is the region tree without geometry, cached until the region store
// swaps its locator (after an import).
type tree struct {
	loc   *region.Locator
	nodes map[string]*Node
}

// nodes returns the cached tree, reloading it after a region import.
func (s *Store) nodes(ctx context.Context) (*tree, error) {
	loc := s.regions.Locator()
	if t := s.tree.Load(); t != nil && t.loc == loc {
		return t, nil
	}
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	if t := s.tree.Load(); t != nil && t.loc == loc {
		return t, nil
	}
	all, err := s.regions.All(ctx, false)
	if err != nil {
		return nil, err
	}
	t := &tree{loc: loc, nodes: make(map[string]*Node, len(all))}
	for _, n := range all {
		t.nodes[n.Code] = &Node{Code: n.Code, Name: n.Name, Level: n.Level, Illustrative: n.Illustrative, path: n.Path, parent: n.ParentCode}
	}
	for _, n := range all { // parents first, children ordered by code
		if p := t.nodes[n.ParentCode]; p != nil {
			p.children = append(p.children, n.Code)
		}
	}
	s.tree.Store(t)
	return t, nil
}

// inScope reports whether the scope sees the whole subtree of a node.
func inScope(sc account.Scope, path string) bool {
	if sc == account.SystemScope() {
		return true
	}
	return sc.RegionPath != "" && strings.HasPrefix(path, sc.RegionPath)
}

// Resolve returns the node code names, or, for "", the node the scope is
// bound to. A node outside the scope does not exist for the caller
// (NotFound), and a scope bound to no region sees no node.
func (s *Store) Resolve(ctx context.Context, sc account.Scope, code string) (_ *Node, err error) {
	defer errs.Wrapf(&err, "stats.Store.Resolve")
	t, err := s.nodes(ctx)
	if err != nil {
		return nil, err
	}
	if code == "" {
		codes := region.PathCodes(sc.RegionPath)
		if sc == account.SystemScope() {
			for _, n := range t.nodes {
				if n.parent == "" {
					codes = []string{n.Code}
					break
				}
			}
		}
		if len(codes) == 0 {
			return nil, errs.E(errs.NotFound, "stats.no_region")
		}
		code = codes[len(codes)-1]
	}
	n := t.nodes[code]
	if n == nil || !inScope(sc, n.path) {
		return nil, errs.E(errs.NotFound, "error.not_found")
	}
	return n, nil
}

// Breadcrumb returns the nodes from the highest the scope sees down to n.
func (s *Store) Breadcrumb(ctx context.Context, sc account.Scope, n *Node) (_ []Node, err error) {
	defer errs.Wrapf(&err, "stats.Store.Breadcrumb")
	t, err := s.nodes(ctx)
	if err != nil {
		return nil, err
	}
	var out []Node
	for _, c := range region.PathCodes(n.path) {
		if a := t.nodes[c]; a != nil && inScope(sc, a.path) {
			out = append(out, *a)
		}
	}
	return out, nil
}

// Children returns the child nodes of n, ordered by code.
func (s *Store) Children(ctx context.Context, n *Node) (_ []Node, err error) {
	defer errs.Wrapf(&err, "stats.Store.Children")
	t, err := s.nodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Node, 0, len(n.children))
	for _, c := range n.children {
		out = append(out, *t.nodes[c])
	}
	return out, nil
}

// grids returns the grid nodes under n (n itself when it is a grid).
func (t *tree) grids(n *Node) []*Node {
	if n.Level == region.Grid || len(n.children) == 0 {
		return []*Node{n}
	}
	var out []*Node
	for _, c := range n.children {
		out = append(out, t.grids(t.nodes[c])...)
	}
	return out
}

// catCache names categories, refreshed every few minutes.
type catCache struct {
	at    time.Time
	names map[string][2]string // zh, en
}

const catTTL = 5 * time.Minute

// categoryNames returns the names of the categories (zh and en), cached.
func (s *Store) categoryNames(ctx context.Context) map[string][2]string {
	if s.cats == nil {
		return nil
	}
	now := s.db.Now()
	if c := s.catNames.Load(); c != nil && now.Sub(c.at) < catTTL && now.Sub(c.at) >= 0 {
		return c.names
	}
	list, err := s.cats.List(ctx)
	if err != nil {
		if c := s.catNames.Load(); c != nil {
			return c.names
		}
		return nil
	}
	names := make(map[string][2]string, len(list))
	for _, c := range list {
		names[c.Code] = [2]string{c.Name, c.NameEN}
	}
	s.catNames.Store(&catCache{at: now, names: names})
	return names
}
