package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockBridge makes sure only one agent serves a bridge: it holds an
// exclusive flock on <rundir>/chainwired.<bridge>.pid (holding its PID)
// for as long as the process lives. A second agent gets an error naming
// the first one's PID.
func LockBridge(rundir, bridge string) (unlock func(), err error) {
	path := filepath.Join(rundir, "chainwired."+bridge+".pid")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if pid, perr := strconv.Atoi(strings.TrimSpace(string(b[:n]))); perr == nil && pid > 0 {
			return nil, fmt.Errorf("bridge %s is already served by chainwired PID %d (lock %s)", bridge, pid, path)
		}
		return nil, fmt.Errorf("bridge %s is already served by another chainwired (lock %s)", bridge, path)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		f.Truncate(0)
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
