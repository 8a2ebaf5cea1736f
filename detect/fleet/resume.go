package fleet

import (
	"bufio"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntpwatch/ntpwatch/detect"
)

// A partition's commit carries, as its metadata, what a member taking the partition over
// needs to go on where the last one stopped: the windows closed, the sensors heard of with
// how far each got, and the open incidents. With it the next member neither judges a closed
// window again nor waits for a sensor it has not heard of yet, and it goes on with the
// incidents it finds open (their ids, their last events) rather than starting them again:
// their figures come from the records it reads again from the committed offset, which
// holds back to the latest record of each sensor about them.
//
//	ntpwatch.fleet/v1 closed=UNIXNANO
//	sensor RUN DONE FINAL "NAME"
//	incident KIND PROTOCOL ADDR WINDOW LASTEMIT SEENAT
//
// Kafka brokers keep at most offset.metadata.max.bytes of it (4096 by default):
// maxMetadata leaves room, and the open incidents past it are left out, counted in
// Stats.Unresumable; a member taking over starts those again.
const (
	metadataHeader = "ntpwatch.fleet/v1"
	maxMetadata    = 4000
)

// metadata is pt's state for its commit.
func (a *Aggregator) metadata(pt *partition) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s closed=%d\n", metadataHeader, pt.closed)
	for _, name := range slices.Sorted(maps.Keys(pt.sensors)) {
		// A sensor's progress past the closed windows is learnt again from its heartbeats,
		// which the next member reads again after the records it needs: told it now, that
		// member would close windows before reading their records.
		s := pt.sensors[name]
		fmt.Fprintf(&b, "sensor %d %d %t %s\n", s.run, min(s.done, pt.closed), s.final, strconv.Quote(name))
	}
	for _, k := range slices.SortedFunc(maps.Keys(pt.subjects), subjectKey.compare) {
		sj := pt.subjects[k]
		for _, in := range sj.inc {
			if in == nil {
				continue
			}
			line := fmt.Sprintf("incident %s %s %s %d %d %d\n", in.kind, k.proto, k.addr, in.window, in.lastEmit, in.seenAt)
			if b.Len()+len(line) > maxMetadata {
				a.stats.Unresumable++
				continue
			}
			b.WriteString(line)
		}
	}
	return b.String()
}

// resume restores pt from the metadata of its last commit.
func (a *Aggregator) resume(pt *partition, metadata string) error {
	if metadata == "" {
		return nil
	}
	sc := bufio.NewScanner(strings.NewReader(metadata))
	if !sc.Scan() {
		return errors.New("empty")
	}
	closed, ok := strings.CutPrefix(sc.Text(), metadataHeader+" closed=")
	if !ok {
		return fmt.Errorf("not %s: %.40q", metadataHeader, sc.Text())
	}
	var err error
	if pt.closed, err = strconv.ParseInt(closed, 10, 64); err != nil {
		return err
	}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "sensor "):
			var s sensor
			var name string
			if _, err := fmt.Sscanf(line, "sensor %d %d %t %q", &s.run, &s.done, &s.final, &name); err != nil {
				return fmt.Errorf("%q: %w", line, err)
			}
			pt.sensors[name] = &s
		case strings.HasPrefix(line, "incident "):
			if err := a.resumeIncident(pt, line); err != nil {
				return fmt.Errorf("%q: %w", line, err)
			}
		default:
			return fmt.Errorf("%.40q: unknown line", line)
		}
	}
	return nil
}

// resumeIncident restores an open incident: its subject begins with what the incident's last
// event knew, and the records read again from the committed offset bring its figures back.
func (a *Aggregator) resumeIncident(pt *partition, line string) error {
	var kind, protocol, addr string
	in := &incident{}
	if _, err := fmt.Sscanf(line, "incident %s %s %s %d %d %d", &kind, &protocol, &addr, &in.window, &in.lastEmit, &in.seenAt); err != nil {
		return err
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return err
	}
	svc := a.service(protocol)
	if svc == nil {
		return fmt.Errorf("unknown protocol %q", protocol)
	}
	in.kind = detect.Kind(kind)
	idx := -1
	var role detect.Role
	for _, r := range []detect.Role{detect.RoleServer, detect.RoleClient} {
		if i := slices.Index(r.Kinds(), in.kind); i >= 0 {
			idx, role = i, r
		}
	}
	if idx < 0 {
		return fmt.Errorf("not a fleet kind: %q", kind)
	}
	in.id = detect.FleetIncidentID(in.kind, protocol, ip, time.Unix(0, in.window))
	k := subjectKey{ip, protocol, role}
	sj := pt.subjects[k]
	if sj == nil {
		sj = &subject{key: k, svc: svc, contrib: map[string]*contribution{}, last: in.seenAt}
		pt.subjects[k] = sj
		a.stats.Subjects++
	}
	sj.inc[idx] = in
	return nil
}
