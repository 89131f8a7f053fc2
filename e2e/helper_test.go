package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
)

// The test binary doubles as a TCP sender and receiver that run inside the
// VM namespaces (CW_E2E_HELPER selects the role), so a transfer can be
// checked byte for byte without extra tools.
func init() {
	role := os.Getenv("CW_E2E_HELPER")
	if role == "" {
		return
	}
	if err := helper(role, os.Args[len(os.Args)-2:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func helper(role string, args []string) error {
	switch role {
	case "sink": // ADDR -: accept one connection, print the SHA-256 of what arrived
		l, err := net.Listen("tcp", args[0])
		if err != nil {
			return err
		}
		fmt.Println("listening")
		c, err := l.Accept()
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(h, c)
		if err != nil {
			return err
		}
		fmt.Printf("%d %s\n", n, hex.EncodeToString(h.Sum(nil)))
		return nil
	case "sinkn": // ADDR N: accept N connections, read each to the end
		n, _ := strconv.Atoi(args[1])
		l, err := net.Listen("tcp", args[0])
		if err != nil {
			return err
		}
		fmt.Println("listening")
		for i := 0; i < n; i++ {
			c, err := l.Accept()
			if err != nil {
				return err
			}
			io.Copy(io.Discard, c)
			c.Close()
		}
		return nil
	case "conns": // ADDR N: N connections one after the other, 4 KB each
		n, _ := strconv.Atoi(args[1])
		for i := 0; i < n; i++ {
			c, err := net.DialTimeout("tcp", args[0], 5*time.Second)
			if err != nil {
				return err
			}
			c.Write(make([]byte, 4096))
			c.Close()
		}
		return nil
	case "echo": // ADDR -: accept one connection, send back what arrives
		l, err := net.Listen("tcp", args[0])
		if err != nil {
			return err
		}
		fmt.Println("listening")
		c, err := l.Accept()
		if err != nil {
			return err
		}
		_, err = io.Copy(c, c)
		return err
	case "pingpong": // ADDR N: N round trips of 64 bytes, 100 ms apart, 2 s each at most
		n, _ := strconv.Atoi(args[1])
		c, err := net.DialTimeout("tcp", args[0], 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 64)
		for i := 0; i < n; i++ {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write(buf); err != nil {
				return fmt.Errorf("round trip %d: %w", i+1, err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				return fmt.Errorf("round trip %d: %w", i+1, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		return nil
	case "echoserver": // ADDR -: echo every connection; a line "conn" as each comes
		l, err := net.Listen("tcp", args[0])
		if err != nil {
			return err
		}
		fmt.Println("listening")
		for {
			c, err := l.Accept()
			if err != nil {
				return err
			}
			fmt.Println("conn")
			go func() {
				io.Copy(c, c)
				c.Close()
			}()
		}
	case "echoclients": // ADDR N: N connections one after the other, each 4 KB echoed back intact
		n, _ := strconv.Atoi(args[1])
		for i := 0; i < n; i++ {
			if err := echoOnce(args[0], i); err != nil {
				return fmt.Errorf("connection %d: %w", i+1, err)
			}
		}
		fmt.Printf("ok %d\n", n)
		return nil
	case "udpecho": // ADDR -: send every datagram back
		return serveUDP(args[0], func(d []byte) []byte { return d })
	case "udpask": // ADDR N: N datagrams, each answered by the same from ADDR
		n, _ := strconv.Atoi(args[1])
		c, err := net.Dial("udp", args[0])
		if err != nil {
			return err
		}
		defer c.Close()
		buf := make([]byte, 64)
		for i := 0; i < n; i++ {
			msg := fmt.Sprintf("ask %d", i)
			c.Write([]byte(msg))
			c.SetReadDeadline(time.Now().Add(time.Second))
			m, err := c.Read(buf) // a connected socket takes only ADDR's answers
			if err != nil || string(buf[:m]) != msg {
				return fmt.Errorf("datagram %d: %q %v", i+1, buf[:m], err)
			}
		}
		fmt.Printf("ok %d\n", n)
		return nil
	case "resolver": // ADDR IP: a DNS server on ADDR:53 answering every A query with IP
		return resolve(args[0], net.ParseIP(args[1]).To4())
	case "frame": // IFACE HEX: send one raw Ethernet frame out of IFACE
		return sendFrame(args[0], args[1])
	case "knock": // ADDR -: one connection attempt, refused or not
		if c, err := net.DialTimeout("tcp", args[0], time.Second); err == nil {
			c.Close()
		}
		return nil
	case "udp": // ADDR N: N datagrams
		n, _ := strconv.Atoi(args[1])
		c, err := net.Dial("udp", args[0])
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			c.Write([]byte("chainwire"))
		}
		return c.Close()
	case "send": // ADDR BYTES: send pseudo-random bytes, print their SHA-256
		n, _ := strconv.Atoi(args[1])
		c, err := net.DialTimeout("tcp", args[0], 5*time.Second)
		if err != nil {
			return err
		}
		h := sha256.New()
		src := io.LimitReader(rand.New(rand.NewSource(int64(n))), int64(n))
		if _, err := io.Copy(io.MultiWriter(c, h), src); err != nil {
			return err
		}
		if err := c.Close(); err != nil {
			return err
		}
		fmt.Printf("%d %s\n", n, hex.EncodeToString(h.Sum(nil)))
		return nil
	}
	return fmt.Errorf("unknown helper role %q", role)
}

// tcpTransfer sends size bytes from one VM to a listener on another and
// fails unless they arrive byte-identical.
func tcpTransfer(t *testing.T, l *lab.Lab, from, to, toIP string, size int) {
	t.Helper()
	addr := net.JoinHostPort(toIP, "5001")
	tcpTransferVia(t, l, from, to, addr, addr, size)
}

// tcpTransferVia is tcpTransfer to a receiver on listen, sent to dial (a
// VIP in front of it, say).
func tcpTransferVia(t *testing.T, l *lab.Lab, from, to, listen, dial string, size int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sink := l.Command(to, self, listen, "-")
	sink.Env = append(os.Environ(), "CW_E2E_HELPER=sink")
	out, err := sink.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sink.Process.Kill()
		sink.Wait()
	}()
	rd := bufio.NewReader(out)
	if line, err := rd.ReadString('\n'); err != nil || strings.TrimSpace(line) != "listening" {
		t.Fatalf("receiver in %s did not start: %q %v", to, line, err)
	}
	send := l.Command(from, self, dial, strconv.Itoa(size))
	send.Env = append(os.Environ(), "CW_E2E_HELPER=send")
	sent, err := send.CombinedOutput()
	if err != nil {
		t.Fatalf("send %s -> %s: %v: %s", from, to, err, sent)
	}
	got, err := rd.ReadString('\n')
	if err != nil {
		t.Fatalf("receiver in %s: %v", to, err)
	}
	if strings.TrimSpace(got) != strings.TrimSpace(string(sent)) {
		t.Fatalf("TCP %s -> %s: sent %q, received %q", from, to, strings.TrimSpace(string(sent)), strings.TrimSpace(got))
	}
}

// helperCmd runs the test binary as a helper inside a lab member.
func helperCmd(t *testing.T, l *lab.Lab, member, role string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := l.Command(member, append([]string{self}, args...)...)
	cmd.Env = append(os.Environ(), "CW_E2E_HELPER="+role)
	return cmd
}

// serve starts a helper that listens (sink, sinkn) and waits until it does.
func serve(t *testing.T, l *lab.Lab, member, role string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := helperCmd(t, l, member, role, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || strings.TrimSpace(line) != "listening" {
		t.Fatalf("%s helper in %s did not start: %q %v", role, member, line, err)
	}
	return cmd
}

// echoOnce sends 4 KB (a pattern of i) and wants them back.
func echoOnce(addr string, i int) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	out := bytes.Repeat([]byte{byte(i), byte(i >> 8), 'x', 'y'}, 1024)
	if _, err := c.Write(out); err != nil {
		return err
	}
	c.(*net.TCPConn).CloseWrite()
	back, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !bytes.Equal(back, out) {
		return fmt.Errorf("%d bytes came back, not the 4096 sent", len(back))
	}
	return nil
}

// resolve answers every DNS query of one question on addr:53: an A query
// with an A record of ip, any other with no answer (a stand-in for a real resolver: it proves a query reached
// it, unchanged).
func resolve(addr string, ip net.IP) error {
	return serveUDP(net.JoinHostPort(addr, "53"), func(q []byte) []byte {
		end := 12
		for end < len(q) && q[end] != 0 {
			end += int(q[end]) + 1
		}
		if len(q) < 12 || end+5 > len(q) {
			return nil
		}
		r := append([]byte{}, q[:end+5]...)
		r[2], r[3] = 0x81, 0x80 // response, recursion desired and available
		r[6], r[7], r[8], r[9], r[10], r[11] = 0, 0, 0, 0, 0, 0
		if q[end+1] == 0 && q[end+2] == 1 { // type A: the one answer
			r[7] = 1
			r = append(append(r, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4), ip...)
		}
		return r
	})
}

// serveUDP answers each datagram on addr with what answer makes of it
// (nil: nothing).
func serveUDP(addr string, answer func([]byte) []byte) error {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	fmt.Println("listening")
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return err
		}
		if r := answer(buf[:n]); r != nil {
			c.WriteTo(r, from)
		}
	}
}

// sendFrame writes a frame, given in hex, to an interface through a
// packet socket: what a VM could send, spoofed fields and all.
func sendFrame(iface, hexFrame string) error {
	frame, err := hex.DecodeString(hexFrame)
	if err != nil {
		return err
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return err
	}
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	return syscall.Sendto(fd, frame, 0, &syscall.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6})
}
