package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2015, 9, 6, 7, 15, 16, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              -1,
		"soon":                          -1,
		"-3":                            -1,
		"0":                             0,
		" 2 ":                           2 * time.Second,
		"3600":                          MaxBackoff,
		"Sun, 06 Sep 2015 07:15:26 GMT": 10 * time.Second,
		"Sun, 06 Sep 2015 07:15:06 GMT": 0,
	} {
		assert.Equal(t, want, retryAfter(v, now), "%q", v)
	}
}

func TestExcerpt(t *testing.T) {
	assert.Equal(t, "a b", excerpt(strings.NewReader(" a\n\tb ")))
	long := excerpt(strings.NewReader(strings.Repeat("x", 500)))
	assert.Equal(t, strings.Repeat("x", maxExcerpt)+"…", long)
	assert.Equal(t, "\uFFFD", excerpt(strings.NewReader("\xff")))
}
