package jsonschema

import (
	"strings"
	"testing"
)

// TestValidate checks that the validator refuses what each keyword forbids: a validator that
// passes everything would make the tests that use it pass for nothing.
func TestValidate(t *testing.T) {
	s, err := Compile([]byte(`{"type":"object","additionalProperties":false,"required":["a"],
	  "$defs":{"port":{"type":"integer","minimum":0}},
	  "properties":{"a":{"type":"string","pattern":"^x+$"},"p":{"$ref":"#/$defs/port"},
	    "e":{"type":"string","enum":["to_server","to_client"]},"c":{"const":3},
	    "l":{"type":"array","minItems":1,"items":{"type":["string","number"]}},
	    "o":{"type":"object","additionalProperties":true,"minProperties":1,"properties":{"b":{"type":"boolean"}}},
	    "one":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		doc, want string // want: "" for valid, else a part of the one violation
	}{
		{`{"a":"xx","p":123,"e":"to_server","c":3,"l":["s",1.5],"o":{"b":true,"z":1},"one":"s"}`, ""},
		{`{"p":1}`, `required property "a"`},
		{`{"a":"xx","z":1}`, `property "z" is not allowed`},
		{`{"a":"xy"}`, "does not match"},
		{`{"a":1}`, "not of type string"},
		{`{"a":"x","p":1.5}`, "not of type integer"},
		{`{"a":"x","p":-1}`, "below the minimum"},
		{`{"a":"x","e":"both"}`, "is not one of"},
		{`{"a":"x","c":4}`, "is not 3"},
		{`{"a":"x","l":[]}`, "fewer than 1"},
		{`{"a":"x","l":[true]}`, "/l/0: boolean is not of type"},
		{`{"a":"x","o":{}}`, "fewer than 1"},
		{`{"a":"x","o":{"b":"yes"}}`, "/o/b: string"},
		{`{"a":"x","one":true}`, "0 of the oneOf"},
		{`{"a":null}`, "null is not of type string"},
	}
	for _, tc := range cases {
		errs := s.Validate([]byte(tc.doc))
		switch {
		case tc.want == "" && len(errs) > 0:
			t.Errorf("%s: %v, want valid", tc.doc, errs)
		case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0], tc.want)):
			t.Errorf("%s: %v, want one violation with %q", tc.doc, errs, tc.want)
		}
	}
	if _, err := Compile([]byte(`{"anyOf":[{"type":"string"}]}`)); err == nil {
		t.Error("a schema with anyOf compiled: its constraint would go unchecked")
	}
}

// TestSuricataSchemaCompiles checks that Suricata's EVE schema uses only the subset, that an
// alert record laid out as Suricata 7 writes one (written here by hand) is valid against it,
// and that a null address is not.
func TestSuricataSchemaCompiles(t *testing.T) {
	s := SuricataEVE(t)
	alert := `{"timestamp":"2017-04-07T22:24:37.251547+0100","flow_id":586497171462735,"pcap_cnt":53381,
	  "event_type":"alert","src_ip":"192.168.2.14","src_port":50096,"dest_ip":"209.53.113.5","dest_port":80,
	  "proto":"TCP","community_id":"1:8rP3C6vQ6b1TfbA1UVOnQ6Bk2bk=","direction":"to_server",
	  "alert":{"action":"allowed","gid":1,"signature_id":2024056,"rev":4,"signature":"ET EXAMPLE a rule",
	    "category":"A Network Trojan was detected","severity":1,
	    "metadata":{"updated_at":["2017_03_20"],"created_at":["2017_03_15"]}},
	  "app_proto":"http","flow":{"pkts_toserver":4,"pkts_toclient":3,"bytes_toserver":1012,"bytes_toclient":350,
	    "start":"2017-04-07T22:24:37.232517+0100","src_ip":"192.168.2.14","dest_ip":"209.53.113.5","src_port":50096,"dest_port":80}}`
	if errs := s.Validate([]byte(alert)); len(errs) > 0 {
		t.Errorf("a Suricata alert record is invalid: %v", errs)
	}
	if errs := s.Validate([]byte(`{"timestamp":"2017-04-07T22:24:37.251547+0100","event_type":"alert","dest_ip":null}`)); len(errs) == 0 {
		t.Error(`"dest_ip": null passed`)
	}
}
