// Package demo generates the demo division tree of 龙湾区 (Longwan
// District, Wenzhou, code 330303): the real district outline and the real
// codes and names of its 10 streets and 123 communities, with street,
// community and grid boundaries made up inside the outline, because no
// official boundaries below the district are published. The generated
// boundaries are illustrative (示意) and a UI showing them must say so.
//
// The boundaries come from recursive area bisection with axis-parallel
// cuts (Partition, built on SplitByLine), so every level tiles its parent
// exactly: no gaps, no overlaps, and each node's area is the sum of its
// children's.
package demo
