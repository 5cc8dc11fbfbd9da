package namematch

import "testing"

func TestScore(t *testing.T) {
	tests := []struct {
		name, text, q string
		want          int
	}{
		{"exact", "永乐街", "永乐街", Exact},
		{"prefix", "永乐街", "永乐", Prefix},
		{"substring", "道路坑洼", "坑", Substring},
		{"full pinyin", "永乐街", "yonglejie", PinyinPrefix},
		{"pinyin with spaces and capitals", "永乐街", Normalize("Yong Le Jie"), PinyinPrefix},
		{"pinyin prefix", "永乐街", "yongle", PinyinPrefix},
		{"initials", "永乐街", "ylj", InitialsPrefix},
		{"pinyin inside", "万顺社区", "shunshe", PinyinSub},
		{"initials inside", "万顺社区", "ssq", InitialsSub},
		{"digits kept", "3号楼", "3hl", InitialsPrefix},
		{"no match", "永乐街", "xyz", 0},
		{"chinese query does not match pinyin", "永乐街", "街道", 0},
		{"empty query", "永乐街", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.text).Score(tt.q); got != tt.want {
				t.Errorf("New(%q).Score(%q) = %d, want %d (key %+v)", tt.text, tt.q, got, tt.want, New(tt.text))
			}
		})
	}
}
