package cli

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnterminated is wrapped by SplitCommand for an unterminated quote or
// a trailing backslash.
var ErrUnterminated = errors.New("unterminated")

// SplitCommand splits a command line into argv the way a POSIX shell splits
// words, without any expansion: blanks separate words; '...' keeps
// everything literally; "..." keeps everything but lets \ escape $ ` " \ and
// newline; outside quotes \ escapes the next character. "" and ” make an
// empty word. Variables, globs, pipes and redirections are NOT interpreted:
// use --shell for those.
func SplitCommand(s string) ([]string, error) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case ch == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("%w escape: the command ends with a backslash", ErrUnterminated)
			}
			i++
			if s[i] != '\n' { // backslash-newline is a line continuation
				cur.WriteByte(s[i])
			}
			inWord = true
		case ch == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("%w single quote at byte %d", ErrUnterminated, i)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("$`\"\\\n", s[j+1]) >= 0 {
					j++
					if s[j] != '\n' {
						cur.WriteByte(s[j])
					}
					continue
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("%w double quote at byte %d", ErrUnterminated, i)
			}
			i = j
			inWord = true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
