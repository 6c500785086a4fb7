package diag

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestWrap(t *testing.T) {
	assert.Equal(t, []string{"aaa bbb", "ccc"}, wrap("aaa bbb ccc", 7))
	assert.Equal(t, []string{"a", "0123456789abcdef", "b"}, wrap("a 0123456789abcdef b", 8), "a long word has a line of its own")
	assert.Equal(t, []string{"one", "", "two", "three"}, wrap("one\n\ntwo   three", 8), "line breaks are kept")
	assert.Equal(t, []string{"日本語 テキスト"}, wrap("日本語 テキスト", 8), "width counts runes")
	for _, l := range wrap(strings.Repeat("word ", 100), 30) {
		assert.LessOrEqual(t, utf8.RuneCountInString(l), 30)
	}
}

func TestClean(t *testing.T) {
	assert.Equal(t, "plain\ttext\nok", clean("plain\ttext\nok"))
	assert.Equal(t, `a\x1b[31mb`, clean("a\x1b[31mb"))
	assert.Equal(t, "crlf\n", clean("crlf\r\n"))
	assert.Equal(t, "bad \uFFFD byte", clean("bad \xff byte"))
	assert.Equal(t, `\u202etxt.exe`, clean("\u202etxt.exe"), "bidi overrides are escaped")
	assert.Equal(t, `\u0085next`, clean("\u0085next"), "C1 controls are escaped")
	assert.Equal(t, "a b", cleanLine(" a\nb\t"))
}

func TestMarkdownEscaping(t *testing.T) {
	assert.Equal(t, `a\*b\_c\|d\<e\>`, mdEscape("a*b_c|d<e>"))
	assert.Equal(t, "`x`", mdCode("x"))
	assert.Equal(t, "``a`b``", mdCode("a`b"))
	assert.Equal(t, "`` `x` ``", mdCode("`x`"))
	assert.Equal(t, "`a\\|b`", mdCode("a|b"))
	assert.Equal(t, "", mdCode(""))
	assert.Equal(t, "```", mdFence("no fences"))
	assert.Equal(t, "`````", mdFence("x\n  ````go\ny"))
	assert.Equal(t, `line 1\`+"\n"+`line \*2\*`, mdParagraph("line 1\n  line *2*  \n"))
}
