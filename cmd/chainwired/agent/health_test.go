package agent

import (
	"testing"
	"time"

	"github.com/chainwire/chainwire/topology"
	"github.com/sirupsen/logrus"
)

// A pair goes down after Failure probes in a row time out, and up again
// after Success answers in a row; probes come from the out port only.
func TestProberVerdicts(t *testing.T) {
	var verdicts []string
	var pr *prober
	pr = newProber("hv1", logrus.NewEntry(logrus.New()), NewMetrics(), func(pair string) {
		up, _ := pr.verdict(pair)
		verdicts = append(verdicts, map[bool]string{true: pair + " up", false: pair + " down"}[up])
	})
	check := topology.HealthCheck{Interval: time.Second, Timeout: 500 * time.Millisecond, Success: 2, Failure: 2}
	pr.setTargets(map[string]probeTarget{"PP1": {pair: "PP1", in: 5, out: 6, check: check}})
	forwarding := true
	var lost int
	now := time.Unix(1000, 0)
	send := func(port uint32, frame []byte) error {
		if port != 5 {
			t.Fatalf("probe sent into port %d, want the in port 5", port)
		}
		if _, _, ok := parseProbe(frame); !ok {
			t.Fatalf("our own probe does not parse: %x", frame)
		}
		if !forwarding {
			lost++
			return nil
		}
		pr.answer(4, frame) // the wrong port: not an answer
		pr.answer(6, frame)
		return nil
	}
	step := func(d time.Duration) {
		end := now.Add(d)
		for now.Before(end) {
			next := pr.tick(now, send)
			if !next.After(now) {
				t.Fatalf("tick at %v asks to run again at %v", now, next)
			}
			now = minTime(next, end)
		}
		pr.tick(now, send)
	}
	step(3 * time.Second)
	if want := "PP1 up"; len(verdicts) != 1 || verdicts[0] != want {
		t.Fatalf("a forwarding pair: verdicts %v, want [%s]", verdicts, want)
	}
	forwarding = false
	failed := now
	for len(verdicts) < 2 && now.Sub(failed) < 5*time.Second {
		step(100 * time.Millisecond)
	}
	if took := now.Sub(failed); len(verdicts) != 2 || verdicts[1] != "PP1 down" || took > check.Interval+time.Duration(check.Failure)*check.Timeout {
		t.Fatalf("after the VNF stopped: verdicts %v after %v", verdicts, took)
	}
	if st := pr.states(); st["PP1"] != topology.HealthDown {
		t.Errorf("status says %v", st)
	}
	forwarding = true
	step(3 * time.Second)
	if len(verdicts) != 3 || verdicts[2] != "PP1 up" {
		t.Fatalf("after the VNF came back: verdicts %v", verdicts)
	}
	if lost < check.Failure {
		t.Errorf("only %d probes were lost", lost)
	}
	pr.setTargets(nil)
	if st := pr.states(); st != nil {
		t.Errorf("a pair no longer probed is still in the status: %v", st)
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Frames with the probe MAC that are not our probes are no answer.
func TestParseProbe(t *testing.T) {
	token, seq, ok := parseProbe(probeFrame(7, 9))
	if !ok || token != 7 || seq != 9 {
		t.Fatalf("parseProbe(probeFrame(7, 9)) = %d, %d, %v", token, seq, ok)
	}
	f := probeFrame(7, 9)
	f[len(f)-20] ^= 1 // inside the magic
	for name, b := range map[string][]byte{"short": f[:30], "bad magic": f, "empty": nil} {
		if _, _, ok := parseProbe(b); ok {
			t.Errorf("%s frame parsed as a probe", name)
		}
	}
}
