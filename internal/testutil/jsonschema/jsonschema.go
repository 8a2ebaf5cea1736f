// Package jsonschema validates JSON documents against a JSON Schema, for tests that check
// ntpwatch's outputs against the schemas other projects publish (Suricata's EVE schema). It
// implements the subset those schemas use: type, properties, additionalProperties (a boolean
// or a schema), required, items, minItems, minProperties, minimum, enum, const, oneOf,
// pattern and local $ref ("#/$defs/NAME"); other keywords are annotations and are ignored.
// A keyword it does not know that constrains values would go unchecked, so Compile refuses
// a schema that uses anyOf, allOf, not, patternProperties, if, maxItems or the like.
package jsonschema

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

// Schema is a compiled schema.
type Schema struct {
	root     map[string]any
	patterns map[string]*regexp.Regexp
}

// known are the keywords Validate checks or may ignore.
var known = map[string]bool{
	"type": true, "properties": true, "additionalProperties": true, "required": true, "items": true,
	"minItems": true, "minProperties": true, "minimum": true, "enum": true, "const": true, "oneOf": true,
	"pattern": true, "$ref": true, "$defs": true,
	// Annotations.
	"$schema": true, "$id": true, "$comment": true, "title": true, "description": true, "desription": true,
	"suricata": true, "default": true, "examples": true, "deprecated": true,
}

// SuricataEVE compiles Suricata's EVE JSON schema (../shared/reference/external/
// suricata-eve-schema.json, from OISF/suricata etc/schema.json), or skips the test when it is
// absent.
func SuricataEVE(t testing.TB) *Schema {
	t.Helper()
	data, err := os.ReadFile(testutil.Shared(t, "reference/external/suricata-eve-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Compile(data)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Compile reads a schema.
func Compile(data []byte) (*Schema, error) {
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		return nil, err
	}
	s := &Schema{root: root, patterns: map[string]*regexp.Regexp{}}
	if err := s.check(root, "#"); err != nil {
		return nil, err
	}
	return s, nil
}

// check refuses keywords outside the subset and compiles the patterns.
func (s *Schema) check(node map[string]any, path string) error {
	for k, v := range node {
		if !known[k] {
			return fmt.Errorf("%s: keyword %q is not supported", path, k)
		}
		switch k {
		case "properties", "$defs":
			for name, sub := range v.(map[string]any) {
				if err := s.check(sub.(map[string]any), path+"/"+k+"/"+name); err != nil {
					return err
				}
			}
		case "items", "additionalProperties":
			if sub, ok := v.(map[string]any); ok {
				if err := s.check(sub, path+"/"+k); err != nil {
					return err
				}
			}
		case "oneOf":
			for i, sub := range v.([]any) {
				if err := s.check(sub.(map[string]any), fmt.Sprintf("%s/oneOf/%d", path, i)); err != nil {
					return err
				}
			}
		case "pattern":
			re, err := regexp.Compile(v.(string))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			s.patterns[v.(string)] = re
		}
	}
	return nil
}

// Validate returns every violation of doc, a JSON document, each naming where it is
// ("/alert/severity: ..."); none when doc is valid.
func (s *Schema) Validate(doc []byte) []string {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var errs []string
	s.validate(s.root, v, "", &errs)
	return errs
}

func (s *Schema) validate(node map[string]any, v any, at string, errs *[]string) {
	bad := func(format string, args ...any) {
		*errs = append(*errs, fmt.Sprintf("%s: %s", cmp(at), fmt.Sprintf(format, args...)))
	}
	if ref, ok := node["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		def, _ := s.root["$defs"].(map[string]any)[name].(map[string]any)
		if !ok || def == nil {
			bad("unresolved $ref %q", ref)
			return
		}
		s.validate(def, v, at, errs)
	}
	if t, ok := node["type"]; ok && !hasType(t, v) {
		bad("%s is not of type %v", kindOf(v), t)
		return
	}
	if e, ok := node["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return equal(x, v) }) {
		bad("%v is not one of %v", v, e)
	}
	if c, ok := node["const"]; ok && !equal(c, v) {
		bad("%v is not %v", v, c)
	}
	if p, ok := node["pattern"].(string); ok {
		if str, ok := v.(string); ok && !s.patterns[p].MatchString(str) {
			bad("%q does not match %s", str, p)
		}
	}
	if m, ok := node["minimum"].(float64); ok {
		if n, ok := v.(float64); ok && n < m {
			bad("%v is below the minimum %v", n, m)
		}
	}
	if alts, ok := node["oneOf"].([]any); ok {
		n := 0
		for _, alt := range alts {
			var sub []string
			s.validate(alt.(map[string]any), v, at, &sub)
			if len(sub) == 0 {
				n++
			}
		}
		if n != 1 {
			bad("matches %d of the oneOf alternatives, not exactly one", n)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		s.object(node, x, at, bad, errs)
	case []any:
		if m, ok := node["minItems"].(float64); ok && float64(len(x)) < m {
			bad("%d items, fewer than %v", len(x), m)
		}
		if items, ok := node["items"].(map[string]any); ok {
			for i, e := range x {
				s.validate(items, e, fmt.Sprintf("%s/%d", at, i), errs)
			}
		}
	}
}

func (s *Schema) object(node map[string]any, x map[string]any, at string, bad func(string, ...any), errs *[]string) {
	if m, ok := node["minProperties"].(float64); ok && float64(len(x)) < m {
		bad("%d properties, fewer than %v", len(x), m)
	}
	if req, ok := node["required"].([]any); ok {
		for _, r := range req {
			if _, ok := x[r.(string)]; !ok {
				bad("required property %q is missing", r)
			}
		}
	}
	props, _ := node["properties"].(map[string]any)
	keys := make([]string, 0, len(x))
	for k := range x {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if p, ok := props[k].(map[string]any); ok {
			s.validate(p, x[k], at+"/"+k, errs)
			continue
		}
		switch ap := node["additionalProperties"].(type) {
		case bool:
			if !ap {
				bad("property %q is not allowed", k)
			}
		case map[string]any:
			s.validate(ap, x[k], at+"/"+k, errs)
		}
	}
}

// hasType tells whether v is of the type t names (a name or a list of names).
func hasType(t any, v any) bool {
	if list, ok := t.([]any); ok {
		return slices.ContainsFunc(list, func(n any) bool { return hasType(n, v) })
	}
	switch t {
	case "integer":
		n, ok := v.(float64)
		return ok && n == math.Trunc(n)
	case "number":
		_, ok := v.(float64)
		return ok
	}
	return kindOf(v) == t
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	}
	return "object"
}

func equal(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func cmp(at string) string {
	if at == "" {
		return "/"
	}
	return at
}
