// Package ecsschema checks documents against the Elastic Common Schema's field definitions
// (ecs_flat.yml, read from the shared reference folder): for tests of --format ecs.
package ecsschema

import (
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntpwatch/ntpwatch/internal/testutil"
	"go.yaml.in/yaml/v3"
)

// Definitions are ECS's fields by their dotted names.
type Definitions map[string]Field

// Field is a field definition of ECS's ecs_flat.yml.
type Field struct {
	Type          string         `yaml:"type"`
	Normalize     []string       `yaml:"normalize"`
	Required      bool           `yaml:"required"`
	AllowedValues []AllowedValue `yaml:"allowed_values"`
}

// AllowedValue is one value ECS allows for a field; for event.category, with the event.type
// values expected with it.
type AllowedValue struct {
	Name               string   `yaml:"name"`
	ExpectedEventTypes []string `yaml:"expected_event_types"`
}

// Load reads the ECS field definitions (../shared/reference/external/ecs_flat.yml, from
// elastic/ecs generated/ecs/ecs_flat.yml), or skips the test when they are absent.
func Load(t testing.TB) Definitions {
	t.Helper()
	data, err := os.ReadFile(testutil.Shared(t, "reference/external/ecs_flat.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var defs Definitions
	if err := yaml.Unmarshal(data, &defs); err != nil {
		t.Fatal(err)
	}
	if len(defs) < 1000 {
		t.Fatalf("ecs_flat.yml defines %d fields", len(defs))
	}
	return defs
}

// Validate checks a document against the ECS definitions: every field but ntpwatch's own
// (under "ntpwatch", a name ECS does not use) is an ECS field with a value of its type, an
// array where ECS normalizes it to one, one of its allowed values where ECS lists them, and
// event.type expected by each event.category; the required fields are there.
func (defs Definitions) Validate(doc []byte) []string {
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var errs []string
	flat := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, x := range m {
			name := prefix + k
			if name == "ntpwatch" {
				continue
			}
			if sub, ok := x.(map[string]any); ok {
				if d, ok := defs[name]; ok && (d.Type == "object" || d.Type == "flattened") {
					flat[name] = x
					continue
				}
				walk(name+".", sub)
				continue
			}
			flat[name] = x
		}
	}
	walk("", v)
	for name, d := range defs {
		if strings.HasPrefix(name, "ntpwatch.") {
			errs = append(errs, "ECS defines "+name+": ntpwatch's own fields would collide")
		}
		if _, ok := flat[name]; d.Required && !ok {
			errs = append(errs, "required field "+name+" is missing")
		}
	}
	for name, x := range flat {
		d, ok := defs[name]
		if !ok {
			errs = append(errs, name+": not an ECS field")
			continue
		}
		values, isArray := x.([]any)
		if !isArray {
			values = []any{x}
			if slices.Contains(d.Normalize, "array") {
				errs = append(errs, name+": ECS normalizes it to an array")
			}
		}
		for _, val := range values {
			if err := ecsType(d.Type, val); err != nil {
				errs = append(errs, fmt.Sprintf("%s (%s): %v", name, d.Type, err))
			}
			if len(d.AllowedValues) > 0 && !slices.ContainsFunc(d.AllowedValues, func(a AllowedValue) bool { return a.Name == val }) {
				errs = append(errs, fmt.Sprintf("%s: %v is not an allowed value", name, val))
			}
		}
	}
	categories, _ := flat["event.category"].([]any)
	types, _ := flat["event.type"].([]any)
	for _, c := range categories {
		for _, a := range defs["event.category"].AllowedValues {
			if a.Name == c && !slices.ContainsFunc(types, func(t any) bool { return slices.Contains(a.ExpectedEventTypes, t.(string)) }) {
				errs = append(errs, fmt.Sprintf("event.type %v: none expected for event.category %s (%v)", types, c, a.ExpectedEventTypes))
			}
		}
	}
	slices.Sort(errs)
	return errs
}

// ecsType checks that a JSON value is of the ECS type t.
func ecsType(t string, v any) error {
	switch t {
	case "keyword", "constant_keyword", "wildcard", "match_only_text", "text":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%v is not a string", v)
		}
	case "ip":
		s, _ := v.(string)
		if _, err := netip.ParseAddr(s); err != nil {
			return fmt.Errorf("%v is not an address", v)
		}
	case "date":
		s, _ := v.(string)
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("%v is not a date", v)
		}
	case "long", "integer":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return fmt.Errorf("%v is not an integer", v)
		}
	case "float", "double", "scaled_float":
		n, ok := v.(json.Number)
		f, err := n.Float64()
		if !ok || err != nil || math.IsInf(f, 0) {
			return fmt.Errorf("%v is not a number", v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%v is not a boolean", v)
		}
	case "object", "flattened":
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("%v is not an object", v)
		}
	default:
		return fmt.Errorf("type %s is not checked here", t)
	}
	return nil
}
