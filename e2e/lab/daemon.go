package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// AddMember gives a lab member that is no hypervisor (say, a control
// plane) a namespace of its own on the underlay, with address ip, and a
// run directory. Down removes it.
func (l *Lab) AddMember(name, ip string) error {
	if err := l.addNamespace(l.ns(name)); err != nil {
		return err
	}
	if err := l.underlayLink(name, ip); err != nil {
		return err
	}
	return os.MkdirAll(l.RunDir(name), 0o755)
}

// StartDaemon starts an OVS-style daemon (one that takes --pidfile and
// --detach) in a member's namespace under name: its pidfile and log are
// name.pid and name.log in the member's run directory, which is also its
// OVS_RUNDIR and OVN_RUNDIR (args name a unixctl socket, for daemons that
// take --unixctl). Down stops it.
func (l *Lab) StartDaemon(member, name, prog string, args ...string) (int, error) {
	r := l.RunDir(member)
	full := append([]string{"netns", "exec", l.ns(member), prog}, args...)
	full = append(full, "--pidfile="+filepath.Join(r, name+".pid"), "--log-file="+filepath.Join(r, name+".log"),
		"-vconsole:off", "--detach", "--no-chdir")
	cmd := exec.Command("ip", full...)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+r, "OVS_DBDIR="+r, "OVN_RUNDIR="+r, "OVN_DBDIR="+r)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("start %s on %s: %v: %s", name, member, err, out)
	}
	b, err := os.ReadFile(filepath.Join(r, name+".pid"))
	if err != nil {
		return 0, err
	}
	var pid int
	fmt.Sscan(strings.TrimSpace(string(b)), &pid)
	l.mu.Lock()
	l.PIDs[member+"/"+name] = pid
	l.mu.Unlock()
	return pid, l.save()
}

// StopDaemon stops a daemon started by StartDaemon (SIGTERM, SIGKILL
// after 5 s) and waits until it is gone; one that has exited already is
// just forgotten.
func (l *Lab) StopDaemon(member, name string) error {
	key := member + "/" + name
	l.mu.Lock()
	pid, ok := l.PIDs[key]
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("no daemon %s running on %s", name, member)
	}
	if err := stopPIDs([]int{pid}, nil); err != nil {
		return err
	}
	l.mu.Lock()
	delete(l.PIDs, key)
	l.mu.Unlock()
	return l.save()
}

// Unixctl is the unixctl socket path a member's daemon is given.
func (l *Lab) Unixctl(member, name string) string {
	return filepath.Join(l.RunDir(member), name+".ctl")
}
