package device

import "context"

// FastItem is fastItem for the tests.
var FastItem = fastItem

// SplitArray is splitArray for the tests.
var SplitArray = splitArray

// FlushPause and FlushBacklog are flushPause and flushBacklog for the tests.
var FlushPause, FlushBacklog = flushPause, flushBacklog

// FlushOnce is flushOnce for the tests: the rows it added and the backlog
// it saw.
func (in *Ingester) FlushOnce(ctx context.Context) (rows int, backlog int64, err error) {
	rows, _, _, backlog, err = in.flushOnce(ctx)
	return rows, backlog, err
}

// ReadingData is readingData for the tests.
var ReadingData = readingData

// EncodeBlock and DecodeBlock are encodeBlock and decodeBlock for the tests.
var EncodeBlock, DecodeBlock = encodeBlock, decodeBlock
