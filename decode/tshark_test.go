package decode

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/ntpwatch/ntpwatch/decode/proto"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var updateTshark = flag.Bool("update-tshark", false, "rewrite testdata/tshark/*.tsv with the tshark on PATH")

// tsharkFields are the columns of testdata/tshark/*.tsv, in order.
var tsharkFields = []string{
	"frame.number", "ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst", "udp.dstport",
	"udp.length", "frame.len",
	"ntp.flags.li", "ntp.flags.vn", "ntp.flags.mode",
	"ntp.stratum", "ntp.ppoll", "ntp.precision", "ntp.rootdelay", "ntp.rootdispersion", "ntp.refid",
	"ntp.reftime", "ntp.org", "ntp.rec", "ntp.xmt", "ntp.keyid", "ntp.mac",
	"ntp.ctrl.flags2.r", "ntp.ctrl.flags2.error", "ntp.ctrl.flags2.more", "ntp.ctrl.flags2.opcode",
	"ntp.ctrl.sequence", "ntp.ctrl.status", "ntp.ctrl.associd", "ntp.ctrl.offset", "ntp.ctrl.count",
	"ntp.priv.flags.r", "ntp.priv.flags.more", "ntp.priv.auth", "ntp.priv.seq", "ntp.priv.impl",
	"ntp.priv.reqcode", "ntp.priv.err", "ntp.priv.numitems", "ntp.priv.reserved", "ntp.priv.itemsize",
	"ntp.priv.monlist.remote_address", "ntp.priv.monlist.addr6",
}

// tsharkArgs is the command line that made testdata/tshark (see testdata/tshark/README.md):
// every NTP message but those quoted inside ICMP errors, which the decoder does not read.
func tsharkArgs(file string) []string {
	return fieldArgs(file, "ntp && !icmp && !icmpv6", tsharkFields)
}

// fieldArgs is tshark's command line for the fields of the frames filter shows in file: a
// header line, then tab-separated columns, every occurrence of a field joined by commas.
func fieldArgs(file, filter string, fields []string) []string {
	args := []string{"-n", "-r", file, "-Y", filter, "-T", "fields", "-E", "header=y",
		"-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	return args
}

// realPcaps lists the real captures, read in place (never copied into the repository).
// NTPWATCH_REAL_PCAPS overrides their folder, for worktrees that sit elsewhere.
func realPcaps(t *testing.T) []string {
	dir := os.Getenv("NTPWATCH_REAL_PCAPS")
	if dir == "" {
		dir = "../../shared/pcaps/real"
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.pcap"))
	if len(files) == 0 {
		t.Skipf("no real captures in %s (set NTPWATCH_REAL_PCAPS to their folder)", dir)
	}
	return files
}

// goldenName maps zeek/ntp.pcap to testdata/tshark/zeek_ntp.tsv.
func goldenName(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), ".pcap")
	return filepath.Join("testdata", "tshark", filepath.Base(filepath.Dir(file))+"_"+base+".tsv")
}

// tsharkOutput is one committed view of the real captures: tshark's arguments for a capture
// and the testdata file that holds its output.
type tsharkOutput struct {
	args   func(file string) []string
	golden func(file string) string
}

// tsharkOutputs are the NTP fields (TestAgreesWithTshark) and the innermost addresses
// (TestInnerAgreesWithTshark).
var tsharkOutputs = []tsharkOutput{{tsharkArgs, goldenName}, {tsharkInnerArgs, innerGoldenName}}

// TestTsharkLive reruns tshark on every real capture and checks that its output still equals
// the committed testdata, so a change of tshark or of the captures is noticed. With
// -update-tshark it rewrites the testdata instead.
func TestTsharkLive(t *testing.T) {
	files := realPcaps(t)
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not on PATH (Debian package tshark)")
	}
	for _, f := range files {
		for _, v := range tsharkOutputs {
			checkTshark(t, f, v.args(f), v.golden(f))
		}
	}
}

// checkTshark runs tshark with args on file and compares its output with the committed
// golden, or with -update-tshark writes it there.
func checkTshark(t *testing.T, file string, args []string, golden string) {
	t.Helper()
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	if *updateTshark {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./decode -run Live -update-tshark)", err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("%s: tshark output differs from %s", file, golden)
	}
}

// TestAgreesWithTshark decodes every real capture and compares every NTP packet, field by
// field, with tshark's decoding of it committed in testdata/tshark, and the NTP log line of
// each with it too: as many lines as tshark shows valid NTP messages (tshark also shows
// reserved modes and versions, which the decoder counts as malformed), with the same fields.
func TestAgreesWithTshark(t *testing.T) {
	for _, f := range realPcaps(t) {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			rows := readGolden(t, goldenName(f))
			logged, messages := 0, 0
			for _, r := range rows {
				if !invalidForUs(r) {
					messages++
				}
			}
			// NTP alone: the comparison is of NTP messages, and other protocols' are other
			// traffic here (TestProtocolsAgreeWithTshark checks theirs).
			decodeEach(t, f, NewDecoder(ntpOnly), func(frame int, k Kind, p *Packet) {
				want, shown := rows[frame]
				delete(rows, frame)
				switch {
				case !shown && k == KindMessage:
					t.Errorf("frame %d: we decode NTP mode %d, tshark shows no NTP", frame, p.NTP.Mode)
				case shown && invalidForUs(want):
					// tshark shows reserved mode 0 or versions 0/5-7 as NTP; we reject them.
					if k != KindMalformed {
						t.Errorf("frame %d: tshark shows mode %s version %s, we give kind %d", frame,
							want["ntp.flags.mode"], want["ntp.flags.vn"], k)
					}
				case shown && k != KindMessage:
					t.Errorf("frame %d: tshark shows NTP, we give kind %d problem %s", frame, k, p.Problem)
				case shown:
					got := tsharkView(p, frame)
					for _, name := range tsharkFields {
						if name == "ntp.keyid" || name == "ntp.mac" {
							continue
						}
						if !appliesToMode(name, p.NTP.Mode) {
							continue // e.g. ntp.stratum read by tshark from mode 7 peer items
						}
						w := want[name]
						if !strings.HasPrefix(name, "ntp.priv.monlist.") && !isTimeField(name) {
							// Fields such as ntp.stratum recur in mode 6/7 data items: the
							// first occurrence is the header's.
							w, _, _ = strings.Cut(w, ",")
						}
						if got[name] != w {
							t.Errorf("frame %d %s: got %q, tshark %q", frame, name, got[name], w)
						}
					}
					if p.NTP.Mode <= 5 {
						if mac := (len(want["ntp.keyid"]) + len(want["ntp.mac"])) / 2; int(p.NTP.Std.MACLen) != mac {
							t.Errorf("frame %d: MAC length %d, tshark %d", frame, p.NTP.Std.MACLen, mac)
						}
					}
					// The NTP log line of the message says the same, field by field.
					logged++
					for name, v := range logView(t, AppendNTPLog(nil, p)) {
						w := want[name]
						if !strings.HasPrefix(name, "ntp.priv.monlist.") && !isTimeField(name) {
							w, _, _ = strings.Cut(w, ",")
						}
						if v != w {
							t.Errorf("frame %d NTP log %s: %q, tshark %q", frame, name, v, w)
						}
					}
				}
			})
			for frame := range rows {
				t.Errorf("frame %d: tshark shows NTP beyond the end of our reading", frame)
			}
			if logged != messages {
				t.Errorf("%d NTP log lines, tshark shows %d valid NTP messages", logged, messages)
			}
		})
	}
}

// ntpOnly is a table of NTP alone.
var ntpOnly = proto.MustTable(&proto.NTPProtocol)

// decodeEach decodes every frame of the capture file with d and hands f the frame's number
// (from 1), its kind and the packet.
func decodeEach(t *testing.T, file string, d *Decoder, f func(frame int, k Kind, p *Packet)) {
	t.Helper()
	src, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var p Packet
	var fr Frame
	for frame := 1; ; frame++ {
		err := src.Next(&fr)
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		f(frame, d.Decode(&fr, &p), &p)
	}
}

// appliesToMode reports whether an ntp.* field belongs to the header of mode; the others are
// compared for every mode (addresses, ports, lengths, flags).
func appliesToMode(name string, mode uint8) bool {
	if !strings.HasPrefix(name, "ntp.") || strings.HasPrefix(name, "ntp.flags.") {
		return true
	}
	switch mode {
	case 6:
		return strings.HasPrefix(name, "ntp.ctrl.")
	case 7:
		return strings.HasPrefix(name, "ntp.priv.")
	}
	return !strings.HasPrefix(name, "ntp.ctrl.") && !strings.HasPrefix(name, "ntp.priv.")
}

func isTimeField(name string) bool {
	switch name {
	case "ntp.reftime", "ntp.org", "ntp.rec", "ntp.xmt":
		return true
	}
	return false
}

func invalidForUs(row map[string]string) bool {
	vn, _ := strconv.Atoi(row["ntp.flags.vn"])
	return row["ntp.flags.mode"] == "0" || vn == 0 || vn > 4
}

func readGolden(t *testing.T, name string) map[int]map[string]string {
	return readRows(t, name, tsharkFields)
}

// readRows reads a file of testdata/tshark of the given columns into rows by frame number.
func readRows(t *testing.T, name string, fields []string) map[int]map[string]string {
	rows := map[int]map[string]string{}
	for _, cols := range readTSV(t, name, fields) {
		row := map[string]string{}
		for i, c := range cols {
			row[fields[i]] = c
		}
		n, _ := strconv.Atoi(row["frame.number"])
		rows[n] = row
	}
	return rows
}

// readTSV reads a file of testdata/tshark: a header line of fields, then rows of as many
// tab-separated columns.
func readTSV(t *testing.T, name string, fields []string) [][]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatalf("%v (run go test -run TestTsharkLive -update-tshark)", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() || sc.Text() != strings.Join(fields, "\t") {
		t.Fatalf("%s: header is not the field list of its tshark command", name)
	}
	var rows [][]string
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != len(fields) {
			t.Fatalf("%s: %d columns, want %d", name, len(cols), len(fields))
		}
		rows = append(rows, cols)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// tsharkView prints p the way tshark -T fields prints those fields.
func tsharkView(p *Packet, frame int) map[string]string {
	v := map[string]string{
		"frame.number": strconv.Itoa(frame),
		"udp.srcport":  strconv.Itoa(int(p.SrcPort)),
		"udp.dstport":  strconv.Itoa(int(p.DstPort)),
		"udp.length":   strconv.Itoa(int(p.MessageLen) + 8),
		"frame.len":    strconv.Itoa(int(p.WireLen)),
	}
	if p.Src.Is4() {
		v["ip.src"], v["ip.dst"] = p.Src.String(), p.Dst.String()
	} else {
		v["ipv6.src"], v["ipv6.dst"] = p.Src.String(), p.Dst.String()
	}
	n := &p.NTP
	v["ntp.flags.vn"], v["ntp.flags.mode"] = itoa(n.Version), itoa(n.Mode)
	b := func(x bool) string {
		if x {
			return "1"
		}
		return "0"
	}
	switch {
	case n.Mode <= 5:
		s := n.Std
		v["ntp.flags.li"] = itoa(n.LI)
		v["ntp.stratum"], v["ntp.ppoll"], v["ntp.precision"] = itoa(s.Stratum), itoa(uint8(s.Poll)), itoa(uint8(s.Precision))
		v["ntp.rootdelay"], v["ntp.rootdispersion"] = itoa(s.RootDelay), itoa(s.RootDispersion)
		v["ntp.refid"] = hex.EncodeToString(s.ReferenceID[:])
		v["ntp.reftime"], v["ntp.org"] = tsharkTime(s.ReferenceTS), tsharkTime(s.OriginTS)
		v["ntp.rec"], v["ntp.xmt"] = tsharkTime(s.ReceiveTS), tsharkTime(s.TransmitTS)
	case n.Mode == 6:
		c := n.Ctl
		v["ntp.flags.li"] = itoa(n.LI)
		v["ntp.ctrl.flags2.r"], v["ntp.ctrl.flags2.error"], v["ntp.ctrl.flags2.more"] = b(c.Response), b(c.Error), b(c.More)
		v["ntp.ctrl.flags2.opcode"], v["ntp.ctrl.sequence"] = itoa(c.OpCode), itoa(c.Sequence)
		v["ntp.ctrl.status"] = fmt.Sprintf("0x%04x", c.Status)
		v["ntp.ctrl.associd"], v["ntp.ctrl.offset"], v["ntp.ctrl.count"] = itoa(c.AssociationID), itoa(c.Offset), itoa(c.Count)
	case n.Mode == 7:
		r := n.Priv
		v["ntp.priv.flags.r"], v["ntp.priv.flags.more"], v["ntp.priv.auth"] = b(r.Response), b(r.More), b(r.Auth)
		v["ntp.priv.seq"], v["ntp.priv.impl"], v["ntp.priv.reqcode"] = itoa(r.Sequence), itoa(r.Implementation), itoa(r.RequestCode)
		v["ntp.priv.err"], v["ntp.priv.reserved"] = fmt.Sprintf("0x%02x", r.Err), fmt.Sprintf("0x%02x", r.MBZ)
		v["ntp.priv.numitems"], v["ntp.priv.itemsize"] = itoa(r.Items), itoa(r.ItemSize)
		monlistFields(v, r.Monlist)
	}
	return v
}

// monlistFields sets tshark's two fields of the addresses a monlist reply names: IPv4 and
// IPv6 ones apart, each list joined as -E aggregator=, joins it.
func monlistFields(v map[string]string, addrs []netip.Addr) {
	var v4, v6 []string
	for _, a := range addrs {
		if a.Is4() {
			v4 = append(v4, a.String())
		} else {
			v6 = append(v6, a.String())
		}
	}
	v["ntp.priv.monlist.remote_address"], v["ntp.priv.monlist.addr6"] = strings.Join(v4, ","), strings.Join(v6, ",")
}

func itoa[T uint8 | uint16 | uint32](x T) string { return strconv.FormatUint(uint64(x), 10) }

// tsharkTime prints an NTP timestamp as Wireshark does: NULL when zero, and timestamps with
// the top bit clear in era 1 (RFC 4330 section 3), which our era-0 NTPTime does not do.
func tsharkTime(ts uint64) string {
	if ts == 0 {
		return "NULL"
	}
	t := NTPTime(ts)
	if ts>>63 == 0 {
		t = t.Add(1 << 32 * 1e9)
	}
	return t.Format("Jan _2, 2006 15:04:05.000000000 UTC")
}

// logView reads an NTP log line (docs/ntp-log.md) back into the tshark fields it holds,
// printed as tshark prints them: addresses, ports, lengths, version and mode, and the header
// of the mode.
func logView(t *testing.T, line []byte) map[string]string {
	t.Helper()
	var l struct {
		TS         time.Time  `json:"ts"`
		Src        netip.Addr `json:"src"`
		Sport      int        `json:"sport"`
		Dst        netip.Addr `json:"dst"`
		Dport      int        `json:"dport"`
		WireLen    int        `json:"wire_len"`
		PayloadLen int        `json:"payload_len"`
		Version    int        `json:"version"`
		Mode       int        `json:"mode"`
		Standard   *struct {
			Leap           int        `json:"leap"`
			Stratum        int        `json:"stratum"`
			Poll           int        `json:"poll"`
			Precision      int        `json:"precision"`
			RootDelay      float64    `json:"root_delay"`
			RootDispersion float64    `json:"root_dispersion"`
			ReferenceID    string     `json:"reference_id"`
			ReferenceTS    *time.Time `json:"reference_ts"`
			OriginTS       *time.Time `json:"origin_ts"`
			ReceiveTS      *time.Time `json:"receive_ts"`
			TransmitTS     *time.Time `json:"transmit_ts"`
			ExtensionLen   int        `json:"extension_len"`
			MACLen         int        `json:"mac_len"`
		} `json:"standard"`
		Control *struct {
			Response      bool `json:"response"`
			Error         bool `json:"error"`
			More          bool `json:"more"`
			Opcode        int  `json:"opcode"`
			Sequence      int  `json:"sequence"`
			Status        int  `json:"status"`
			AssociationID int  `json:"association_id"`
			Offset        int  `json:"offset"`
			Count         int  `json:"count"`
		} `json:"control"`
		Private *struct {
			Response       bool         `json:"response"`
			More           bool         `json:"more"`
			Auth           bool         `json:"auth"`
			Sequence       int          `json:"sequence"`
			Implementation int          `json:"implementation"`
			RequestCode    int          `json:"request_code"`
			Err            int          `json:"err"`
			Items          int          `json:"items"`
			ItemSize       int          `json:"item_size"`
			Monlist        []netip.Addr `json:"monlist"`
		} `json:"private"`
		Encap []string `json:"encap"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		t.Fatalf("NTP log line %s: %v", line, err)
	}
	n := strconv.Itoa
	b := func(x bool) string {
		if x {
			return "1"
		}
		return "0"
	}
	v := map[string]string{
		"udp.srcport": n(l.Sport), "udp.dstport": n(l.Dport), "udp.length": n(l.PayloadLen + 8),
		"frame.len": n(l.WireLen), "ntp.flags.vn": n(l.Version), "ntp.flags.mode": n(l.Mode),
	}
	if l.Src.Is4() {
		v["ip.src"], v["ip.dst"] = l.Src.String(), l.Dst.String()
	} else {
		v["ipv6.src"], v["ipv6.dst"] = l.Src.String(), l.Dst.String()
	}
	if s := l.Standard; s != nil {
		v["ntp.flags.li"], v["ntp.stratum"] = n(s.Leap), n(s.Stratum)
		v["ntp.ppoll"], v["ntp.precision"] = n(int(uint8(s.Poll))), n(int(uint8(s.Precision)))
		v["ntp.rootdelay"] = n(int(s.RootDelay * 65536))
		v["ntp.rootdispersion"] = n(int(s.RootDispersion * 65536))
		var id [4]byte
		if s.Stratum > 1 {
			id = netip.MustParseAddr(s.ReferenceID).As4()
		} else {
			for i, r := range []rune(s.ReferenceID) {
				id[i] = byte(r)
			}
		}
		v["ntp.refid"] = hex.EncodeToString(id[:])
		for name, ts := range map[string]*time.Time{"ntp.reftime": s.ReferenceTS, "ntp.org": s.OriginTS,
			"ntp.rec": s.ReceiveTS, "ntp.xmt": s.TransmitTS} {
			v[name] = "NULL"
			if ts != nil {
				// The smallest NTP fraction that NTPTime truncates to the logged nanoseconds.
				frac := (uint64(ts.Nanosecond())<<32 + 1e9 - 1) / 1e9
				v[name] = tsharkTime(uint64(ts.Unix()+ntpEpochOffset)<<32 | frac)
			}
		}
	}
	if c := l.Control; c != nil {
		v["ntp.ctrl.flags2.r"], v["ntp.ctrl.flags2.error"], v["ntp.ctrl.flags2.more"] = b(c.Response), b(c.Error), b(c.More)
		v["ntp.ctrl.flags2.opcode"], v["ntp.ctrl.sequence"] = n(c.Opcode), n(c.Sequence)
		v["ntp.ctrl.status"] = fmt.Sprintf("0x%04x", c.Status)
		v["ntp.ctrl.associd"], v["ntp.ctrl.offset"], v["ntp.ctrl.count"] = n(c.AssociationID), n(c.Offset), n(c.Count)
	}
	if r := l.Private; r != nil {
		v["ntp.priv.flags.r"], v["ntp.priv.flags.more"], v["ntp.priv.auth"] = b(r.Response), b(r.More), b(r.Auth)
		v["ntp.priv.seq"], v["ntp.priv.impl"], v["ntp.priv.reqcode"] = n(r.Sequence), n(r.Implementation), n(r.RequestCode)
		v["ntp.priv.err"] = fmt.Sprintf("0x%02x", r.Err)
		v["ntp.priv.numitems"], v["ntp.priv.itemsize"] = n(r.Items), n(r.ItemSize)
		monlistFields(v, r.Monlist)
	}
	return v
}
