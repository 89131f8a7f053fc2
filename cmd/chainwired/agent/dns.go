package agent

import (
	"fmt"
	"net"
	"strings"

	"github.com/chainwire/chainwire/topology"
)

// DNS answers for the records of a switch (dns-add), as ovn-controller's
// dns_lookup gives them: a query of one question, class IN, type A, AAAA
// or PTR, for a name the switch has addresses of that type for, gets an
// authoritative answer; any other query goes on unchanged (the paused
// pipeline is resumed).

const (
	dnsHeader = 12
	dnsTypeA  = 1
	dnsPTR    = 12
	dnsAAAA   = 28
	dnsIN     = 1
	dnsTTL    = 3600
)

// dnsRecords are one switch's names: hostname (lower case, no trailing
// dot) to addresses, and reverse names (in-addr.arpa, ip6.arpa) to
// hostname.
type dnsRecords struct {
	addrs map[string][]net.IP
	ptrs  map[string]string
}

func newDNSRecords() *dnsRecords {
	return &dnsRecords{addrs: map[string][]net.IP{}, ptrs: map[string]string{}}
}

// setDNS gives the packet-in handlers the model's DNS records by
// datapath (rebuilt whole: it changes only when records or switches do).
func (p *packetIns) setDNS(ix *topology.Index) {
	out := map[uint32]*dnsRecords{}
	for _, sw := range ix.Model().Switches {
		for _, rec := range ix.DNSRecordsOf(sw.Name) {
			r := out[sw.Key]
			if r == nil {
				r = newDNSRecords()
				out[sw.Key] = r
			}
			var addrs []net.IP
			for _, a := range rec.Addresses {
				if ip := net.ParseIP(a); ip != nil {
					addrs = append(addrs, ip)
				}
			}
			r.add(rec.Hostname, addrs)
		}
	}
	p.dns.Store(&out)
}

func (r *dnsRecords) add(host string, addrs []net.IP) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	r.addrs[host] = append(r.addrs[host], addrs...)
	for _, a := range addrs {
		r.ptrs[reverseName(a)] = host
	}
}

// reverseName is an address's PTR name.
func reverseName(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", v4[3], v4[2], v4[1], v4[0])
	}
	var b strings.Builder
	v6 := ip.To16()
	for i := 15; i >= 0; i-- {
		fmt.Fprintf(&b, "%x.%x.", v6[i]&0xf, v6[i]>>4)
	}
	b.WriteString("ip6.arpa")
	return b.String()
}

// dnsAnswer answers the query frame b from recs, or says why it gets no
// answer (then the query goes on).
func dnsAnswer(b []byte, recs *dnsRecords) ([]byte, error) {
	f, err := parseFrame(b)
	if err != nil {
		return nil, err
	}
	if f.proto != protoUDP || len(f.l4) < 8+dnsHeader || be.Uint16(f.l4[2:]) != 53 {
		return nil, fmt.Errorf("not a DNS query")
	}
	q := f.l4[8:min(len(f.l4), int(be.Uint16(f.l4[4:])))]
	if len(q) < dnsHeader || q[2]&0x80 != 0 || q[2]&0x78 != 0 || be.Uint16(q[4:]) != 1 {
		return nil, fmt.Errorf("not a standard query of one question")
	}
	name, end, err := dnsName(q, dnsHeader)
	if err != nil || end+4 > len(q) {
		return nil, fmt.Errorf("bad question")
	}
	qtype, qclass := be.Uint16(q[end:]), be.Uint16(q[end+2:])
	if qclass != dnsIN {
		return nil, fmt.Errorf("class %d", qclass)
	}
	var rdata [][]byte
	switch qtype {
	case dnsTypeA, dnsAAAA:
		for _, a := range recs.addrs[name] {
			if v4 := a.To4(); v4 != nil && qtype == dnsTypeA {
				rdata = append(rdata, v4)
			} else if v4 == nil && qtype == dnsAAAA {
				rdata = append(rdata, a.To16())
			}
		}
	case dnsPTR:
		if host, ok := recs.ptrs[name]; ok {
			rdata = append(rdata, encodeName(host))
		}
	}
	if len(rdata) == 0 {
		return nil, fmt.Errorf("no %d record for %q", qtype, name)
	}
	msg := append([]byte{}, q[:end+4]...) // header and question
	msg[2] = 0x84 | q[2]&0x01             // response, authoritative, recursion desired as asked
	msg[3] = 0
	be.PutUint16(msg[6:], uint16(len(rdata)))
	be.PutUint16(msg[8:], 0)
	be.PutUint16(msg[10:], 0)
	for _, rd := range rdata {
		msg = be.AppendUint16(msg, 0xc000|dnsHeader) // the question's name
		msg = be.AppendUint16(msg, qtype)
		msg = be.AppendUint16(msg, dnsIN)
		msg = be.AppendUint32(msg, dnsTTL)
		msg = be.AppendUint16(msg, uint16(len(rd)))
		msg = append(msg, rd...)
	}
	sport, dport := be.Uint16(f.l4[2:]), be.Uint16(f.l4)
	return ipFrame(f.dst, f.src, f.ipDst, f.ipSrc, protoUDP, udpDatagram(sport, dport, msg)), nil
}

// dnsName reads an uncompressed name at off (questions carry no
// pointers), lower-cased without the root's dot, and where it ends.
func dnsName(b []byte, off int) (string, int, error) {
	var labels []string
	for {
		if off >= len(b) {
			return "", 0, fmt.Errorf("truncated name")
		}
		n := int(b[off])
		if n == 0 {
			return strings.ToLower(strings.Join(labels, ".")), off + 1, nil
		}
		if n > 63 || off+1+n > len(b) || len(labels) > 127 {
			return "", 0, fmt.Errorf("bad label")
		}
		labels = append(labels, string(b[off+1:off+1+n]))
		off += 1 + n
	}
}

func encodeName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(append(b, byte(len(l))), l...)
	}
	return append(b, 0)
}
