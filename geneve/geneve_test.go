package geneve

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
)

// The ICMP echo request of seed 004 (tcpdump -xx on the receiving worker):
// VNI 0x000001, option data 00010002.
const seedRequest = `
5254 00ac 675b 5254 0013 e0a2 0800 4500
008e f9b0 4000 4011 5a94 c0a8 3264 c0a8
3265 1d7d 17c1 007a e6a5 0240 6558 0000
0100 0102 8001 0001 0002 4044 0000 0002
4044 0000 0001 0800 4500 0054 a3f0 4000
4001 1551 c0a8 000b c0a8 000c 0800 c67b
04e3 1af1 94d9 6e5c 0000 0000 41a7 0e00
0000 0000 1011 1213 1415 1617 1819 1a1b
1c1d 1e1f 2021 2223 2425 2627 2829 2a2b
2c2d 2e2f 3031 3233 3435 3637`

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSeedFrame(t *testing.T) {
	p, err := DecodeFrame(unhex(t, seedRequest))
	if err != nil {
		t.Fatal(err)
	}
	if p.Meta != (Metadata{Datapath: 1, Ingress: 1, Egress: 2}) {
		t.Errorf("metadata %v, want vni 1, ingress 1, egress 2", p.Meta)
	}
	if !p.Geneve.Critical || p.Geneve.Protocol != 0x6558 || len(p.Geneve.Options) != 1 || !p.Geneve.Options[0].Critical {
		t.Errorf("header %+v", p.Geneve)
	}
	if p.OuterSrc.String() != "192.168.50.100" || p.OuterDst.String() != "192.168.50.101" {
		t.Errorf("outer %s > %s", p.OuterSrc, p.OuterDst)
	}
	dst, src := p.InnerMACs()
	if src.String() != "40:44:00:00:00:01" || dst.String() != "40:44:00:00:00:02" {
		t.Errorf("inner %s > %s", src, dst)
	}
}

// Encode produces exactly the header bytes of the seed's frames, for the
// request (00010002) and the reply (00020001).
func TestEncodeMatchesSeed(t *testing.T) {
	frame := unhex(t, seedRequest)
	want := frame[14+20+8 : 14+20+8+16]
	got, err := Encode(Metadata{Datapath: 1, Ingress: 1, Egress: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("request header %x, want %x", got, want)
	}
	reply, _ := Encode(Metadata{Datapath: 1, Ingress: 2, Egress: 1})
	if d := binary.BigEndian.Uint32(reply[12:]); d != 0x00020001 {
		t.Errorf("reply option data %08x, want 00020001", d)
	}
}

func TestRange(t *testing.T) {
	for _, m := range []Metadata{{Datapath: 1 << 24}, {Datapath: 1, Ingress: 1 << 15}} {
		if _, err := Encode(m); err == nil {
			t.Errorf("%v encoded", m)
		}
	}
	h, _ := Encode(Metadata{Datapath: 0xffffff, Ingress: 0x7fff, Egress: 0xffff})
	d, err := Decode(h)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := d.Metadata(); m != (Metadata{0xffffff, 0x7fff, 0xffff}) {
		t.Errorf("round trip at the limits: %v", m)
	}
	// The reserved bit is ignored on decode, never set on encode.
	h[12] |= 0x80
	d, _ = Decode(h)
	if m, _ := d.Metadata(); m.Ingress != 0x7fff {
		t.Errorf("reserved bit leaked into the ingress port: %v", m)
	}
}

func TestNoOption(t *testing.T) {
	h := []byte{0, 0, 0x65, 0x58, 0, 0, 1, 0}
	d, err := Decode(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Metadata(); err != ErrNoOVNOption {
		t.Errorf("got %v", err)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(unhex(&testing.T{}, seedRequest))
	h, _ := Encode(Metadata{Datapath: 7, Ingress: 3, Egress: 32768})
	f.Add(h)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodeFrame(b)
		if err == nil {
			// Whatever decodes must re-encode to the same metadata.
			enc, err := Encode(p.Meta)
			if err != nil {
				t.Fatalf("decoded metadata %v does not encode: %v", p.Meta, err)
			}
			d, _ := Decode(enc)
			if m, _ := d.Metadata(); m != p.Meta {
				t.Fatalf("round trip %v -> %v", p.Meta, m)
			}
		}
		Decode(b)
	})
}
