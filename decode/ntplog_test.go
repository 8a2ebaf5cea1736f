package decode

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"

	"github.com/ntpwatch/ntpwatch/decode/proto"
	"github.com/ntpwatch/ntpwatch/internal/testutil"
)

func TestAppendNTPLog(t *testing.T) {
	server := make([]byte, 48)
	server[0], server[1], server[2], server[3] = 0x24, 1, 6, 0xe9 // v4 mode 4, stratum 1; root delay 622/65536 s, dispersion 807/65536 s
	copy(server[4:], []byte{0, 0, 0x02, 0x6e, 0, 0, 0x03, 0x27, 'G', 'P', 'S', 0})
	copy(server[40:], []byte{0xdc, 0x5a, 0x1e, 0x2f, 0x80, 0, 0, 0}) // 2017-02-24T02:51:27.5Z (date -u -d @$((0xdc5a1e2f - 2208988800)))
	monlist := testutil.MonlistReply(false, netip.MustParseAddr("203.0.113.9"), netip.MustParseAddr("2001:db8::9"))
	ctl := proto.AppendControl(nil, 0, 2, &proto.Control{Response: true, More: true, OpCode: 2, Sequence: 1, Status: 1557, Count: 0})
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"mode 4", server, `{"ts":"2014-01-10T12:00:00Z","src":"198.51.100.10","sport":123,"dst":"192.0.2.7","dport":40000,` +
			`"wire_len":90,"payload_len":48,"version":4,"mode":4,"standard":{"leap":0,"stratum":1,"poll":6,"precision":-23,` +
			`"root_delay":0.009490966796875,"root_dispersion":0.0123138427734375,"reference_id":"GPS","reference_ts":null,` +
			`"origin_ts":null,"receive_ts":null,"transmit_ts":"2017-02-24T02:51:27.5Z","extension_len":0,"mac_len":0},` +
			`"control":null,"private":null,"encap":null}`},
		{"mode 6", ctl, `{"ts":"2014-01-10T12:00:00Z","src":"198.51.100.10","sport":123,"dst":"192.0.2.7","dport":40000,` +
			`"wire_len":54,"payload_len":12,"version":2,"mode":6,"standard":null,"control":{"response":true,"error":false,` +
			`"more":true,"opcode":2,"sequence":1,"status":1557,"association_id":0,"offset":0,"count":0},"private":null,"encap":null}`},
		{"monlist", monlist, `{"ts":"2014-01-10T12:00:00Z","src":"198.51.100.10","sport":123,"dst":"192.0.2.7","dport":40000,` +
			`"wire_len":194,"payload_len":152,"version":2,"mode":7,"standard":null,"control":null,"private":{"response":true,` +
			`"more":false,"auth":false,"sequence":0,"implementation":3,"request_code":42,"err":0,"items":2,"item_size":72,` +
			`"monlist":["203.0.113.9","2001:db8::9"]},"encap":null}`},
	}
	for _, tt := range tests {
		frame := testutil.Ethernet(testutil.UDP(testutil.V4Server, testutil.V4Client, 123, 40000, tt.payload))
		var p Packet
		if k := NewDecoder(nil).Decode(frameOf(frame, LinkTypeEthernet), &p); k != KindMessage {
			t.Fatalf("%s: kind %d problem %s", tt.name, k, p.Problem)
		}
		got := AppendNTPLog(nil, &p)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: invalid JSON %s: %v", tt.name, got, err)
		}
		if err := json.Unmarshal([]byte(tt.want), &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestReferenceIDEscaping(t *testing.T) {
	got := string(appendReferenceID(nil, 0, [4]byte{'"', '\\', 0x01, 0xff}))
	if want := `"\"\\\u0001\u00ff"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var s string
	if err := json.Unmarshal([]byte(got), &s); err != nil {
		t.Error(err)
	}
}
