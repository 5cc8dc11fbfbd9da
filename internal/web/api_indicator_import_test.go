package web

import (
	"testing"

	"whistle/internal/i18n"
)

// TestLocalReason: the reasons the benchmark import words (in English, as
// the command prints them) have their Chinese lines; an unknown one stays
// as it is.
func TestLocalReason(t *testing.T) {
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	for reason, want := range map[string]string{
		"not a number": "不是数字",
		"unknown indicator x_y; declare it first": "未知指标 x_y，请先声明",
		"repeats row 7": "与第 7 行重复",
		"indicator pop is the platform's own, computed each month; it cannot be imported": "指标 pop 为平台自有指标，每月自动计算，不能导入",
		"something new": "something new",
	} {
		if got := localReason(c, i18n.ZH, reason); got != want {
			t.Errorf("localReason(%q) = %q, want %q", reason, got, want)
		}
	}
}
