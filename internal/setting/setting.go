// Package setting is the error of a configuration value that cannot be used. Library
// packages name the value by its key in their configuration ("kafka.topic", "workers"), never
// by a command-line flag, which is the command's business: the command renames the keys to
// the flags that set them (Rename), so that a user reads the flag they typed.
package setting

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a configuration value that cannot be used.
type Error struct {
	Key   string // the value's key in its package's configuration: "kafka.topic"
	Value string // the value as the user gave it, quoted where that helps; may be empty
	Err   error  // what is wrong with it; it may name other keys
}

// Errorf returns an Error of key and value with a formatted reason.
func Errorf(key, value, format string, args ...any) *Error {
	return &Error{Key: key, Value: value, Err: fmt.Errorf(format, args...)}
}

func (e *Error) Error() string {
	if e.Value == "" {
		return e.Key + ": " + e.Err.Error()
	}
	return e.Key + " " + e.Value + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Rename rewrites err in the words of names, a map from keys to what the user knows them by
// (flags): each Error joined in err (errors.Join) or found in its chain is written with its
// key renamed, and so is every dotted key of names any error's text mentions ("needs
// kafka.sasl.mechanism"; a single word such as "file" is too common to replace in prose).
// The errors joined in err stay one per line, as errors.Join writes them. Rename of nil is
// nil.
func Rename(err error, names map[string]string) error {
	if err == nil {
		return nil
	}
	var parts []string
	for _, e := range unjoin(err) {
		text := e.Error()
		var se *Error
		if errors.As(e, &se) {
			if name, ok := names[se.Key]; ok {
				// The Error's own text, wherever the chain put it (a prefix such as
				// "capture on lo: " stays), with its key renamed.
				text = strings.Replace(text, se.Error(), renamed(se, name), 1)
			}
		}
		for key, name := range names {
			if (se == nil || key != se.Key) && strings.Contains(key, ".") {
				text = replaceKey(text, key, name)
			}
		}
		parts = append(parts, text)
	}
	return &renamedError{msg: strings.Join(parts, "\n"), err: err}
}

// renamed is se's text with its key written as name.
func renamed(se *Error, name string) string {
	r := *se
	r.Key = name
	return r.Error()
}

// replaceKey replaces key in text where it stands as a word: not as part of a longer key.
func replaceKey(text, key, name string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, key)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		end := i + len(key)
		whole := (i == 0 || !keyByte(text[i-1])) && (end == len(text) || !keyByte(text[end]))
		b.WriteString(text[:i])
		if whole {
			b.WriteString(name)
		} else {
			b.WriteString(key)
		}
		text = text[end:]
	}
}

func keyByte(c byte) bool {
	return c == '.' || c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// renamedError is the message of Rename over the original errors, which errors.Is and As
// still find.
type renamedError struct {
	msg string
	err error
}

func (e *renamedError) Error() string { return e.msg }
func (e *renamedError) Unwrap() error { return e.err }

// unjoin returns the errors joined in err (errors.Join), also behind wrappers that add no
// text of their own and within joins of joins, or err alone.
func unjoin(err error) []error {
	for e := err; e != nil; {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			var out []error
			for _, x := range j.Unwrap() {
				out = append(out, unjoin(x)...)
			}
			return out
		}
		next := errors.Unwrap(e)
		if next == nil || next.Error() != e.Error() {
			break
		}
		e = next
	}
	return []error{err}
}
