package device

// FastItem is fastItem for the tests.
var FastItem = fastItem

// SplitArray is splitArray for the tests.
var SplitArray = splitArray
