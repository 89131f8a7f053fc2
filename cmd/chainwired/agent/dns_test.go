package agent

import (
	"bytes"
	"net"
	"testing"
)

// dnsQuery is macA's query (id 0x1234, recursion desired) for name and
// type, from 10.0.0.1:40000 to 10.0.0.2:53.
func dnsQuery(name string, qtype uint16) []byte {
	q := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	q = append(q, encodeName(name)...)
	q = be.AppendUint16(be.AppendUint16(q, qtype), dnsIN)
	return ipFrame(macA, macB, net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2), protoUDP, udpDatagram(40000, 53, q))
}

func testRecords() *dnsRecords {
	r := newDNSRecords()
	r.add("vm1.example.org", []net.IP{net.ParseIP("10.0.0.11"), net.ParseIP("fd00::11")})
	return r
}

// answers returns a reply's answer records' data, checking it answers
// the query.
func answers(t *testing.T, reply []byte) [][]byte {
	t.Helper()
	f, err := parseUDP4(reply, 53, 40000)
	if err != nil {
		t.Fatal(err)
	}
	m := f.payload
	if !bytes.Equal(m[0:2], []byte{0x12, 0x34}) || m[2]&0x84 != 0x84 || m[2]&1 != 1 {
		t.Fatalf("reply header %x", m[:4])
	}
	_, off, err := dnsName(m, dnsHeader)
	if err != nil {
		t.Fatal(err)
	}
	off += 4
	var out [][]byte
	for i := 0; i < int(be.Uint16(m[6:])); i++ {
		n := int(be.Uint16(m[off+10:]))
		out = append(out, m[off+12:off+12+n])
		off += 12 + n
	}
	return out
}

func TestDNSAnswers(t *testing.T) {
	recs := testRecords()
	r, err := dnsAnswer(dnsQuery("VM1.example.org.", dnsTypeA), recs)
	if err != nil {
		t.Fatal(err)
	}
	if a := answers(t, r); len(a) != 1 || !net.IP(a[0]).Equal(net.ParseIP("10.0.0.11")) {
		t.Fatalf("A: %x", a)
	}
	r, _ = dnsAnswer(dnsQuery("vm1.example.org", dnsAAAA), recs)
	if a := answers(t, r); len(a) != 1 || !net.IP(a[0]).Equal(net.ParseIP("fd00::11")) {
		t.Fatalf("AAAA: %x", a)
	}
	r, _ = dnsAnswer(dnsQuery("11.0.0.10.in-addr.arpa", dnsPTR), recs)
	if a := answers(t, r); len(a) != 1 || !bytes.Equal(a[0], encodeName("vm1.example.org")) {
		t.Fatalf("PTR: %x", a)
	}
	r, _ = dnsAnswer(dnsQuery(reverseName(net.ParseIP("fd00::11")), dnsPTR), recs)
	if a := answers(t, r); len(a) != 1 {
		t.Fatalf("IPv6 PTR: %x", a)
	}
	for name, q := range map[string][]byte{
		"an unknown name":   dnsQuery("vm2.example.org", dnsTypeA),
		"a type it lacks":   dnsQuery("vm1.example.org", 15),
		"a truncated query": dnsQuery("vm1.example.org", dnsTypeA)[:50],
		"not to port 53":    ipFrame(macA, macB, net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2), protoUDP, udpDatagram(40000, 54, make([]byte, 20))),
	} {
		if r, err := dnsAnswer(q, recs); err == nil {
			t.Errorf("%s answered: %x", name, r)
		}
	}
}
