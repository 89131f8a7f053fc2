package e2e

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The Debian package: `make deb` builds it (into a temporary directory,
// without the lintian check, which `make deb` itself runs), and it is
// unpacked with `dpkg-deb -x` into a temporary root, never installed, so the
// machine is untouched. Its file list, conffiles, the units' ExecStart (the
// package's /usr/bin and /usr/share/chainwire paths, not `make install`'s
// /usr/local), `systemd-analyze verify --root`, the binaries and the man
// pages are checked there.
func TestDebianPackage(t *testing.T) {
	tmp := t.TempDir()
	dist := filepath.Join(tmp, "dist")
	build := exec.Command("make", "-C", "..", "--no-print-directory", "deb", "LINTIAN=no", "DIST="+dist)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dist, "chainwire_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v, want one chainwire_*.deb in %s", debs, dist)
	}
	deb := debs[0]
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).Output()
		if err != nil {
			stderr := ""
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}

	// control fields
	arch := strings.TrimSpace(run("dpkg", "--print-architecture"))
	fields := map[string]string{}
	for _, f := range []string{"Package", "Version", "Architecture", "Depends", "Maintainer"} {
		fields[f] = strings.TrimSpace(run("dpkg-deb", "-f", deb, f))
	}
	if fields["Package"] != "chainwire" || fields["Architecture"] != arch || fields["Maintainer"] == "" {
		t.Errorf("control fields %v", fields)
	}
	run("dpkg", "--validate-version", fields["Version"])
	if filepath.Base(deb) != "chainwire_"+fields["Version"]+"_"+arch+".deb" {
		t.Errorf("file name %s for version %s", filepath.Base(deb), fields["Version"])
	}
	if !regexp.MustCompile(`(^|, )openvswitch-switch($|[ ,])`).MatchString(fields["Depends"]) {
		t.Errorf("Depends: %s, want openvswitch-switch", fields["Depends"])
	}

	// the file list: exactly these files, owned by root, with these modes
	docs, _ := filepath.Glob("../docs/*.md")
	want := map[string]string{
		"/usr/bin/chainctl":                            "-rwxr-xr-x",
		"/usr/bin/chainwired":                          "-rwxr-xr-x",
		"/lib/systemd/system/chainwired.service":       "-rw-r--r--",
		"/lib/systemd/system/chainwire-nb.service":     "-rw-r--r--",
		"/etc/chainwire/chainwired.yaml":               "-rw-r--r--",
		"/etc/default/chainwire-nb":                    "-rw-r--r--",
		"/usr/share/chainwire/chainwire_nb.ovsschema":  "-rw-r--r--",
		"/usr/share/chainwire/chainwire-nb":            "-rwxr-xr-x",
		"/usr/share/doc/chainwire/README.md":           "-rw-r--r--",
		"/usr/share/doc/chainwire/copyright":           "-rw-r--r--",
		"/usr/share/doc/chainwire/changelog.Debian.gz": "-rw-r--r--",
		"/usr/share/man/man1/chainctl.1.gz":            "-rw-r--r--",
		"/usr/share/man/man8/chainwired.8.gz":          "-rw-r--r--",
		"/usr/share/lintian/overrides/chainwire":       "-rw-r--r--",
	}
	for _, d := range docs {
		want["/usr/share/doc/chainwire/docs/"+filepath.Base(d)] = "-rw-r--r--"
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(run("dpkg-deb", "-c", deb)), "\n") {
		f := strings.Fields(line) // mode owner size date time path [-> target]
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c: %q", line)
		}
		if f[1] != "root/root" {
			t.Errorf("%s is owned by %s", f[5], f[1])
		}
		if f[0][0] == 'd' {
			continue
		}
		got[strings.TrimPrefix(f[5], ".")] = f[0]
	}
	var missing, extra []string
	for p, mode := range want {
		switch g, ok := got[p]; {
		case !ok:
			missing = append(missing, p)
		case g != mode:
			t.Errorf("%s has mode %s, want %s", p, g, mode)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			extra = append(extra, p)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("package files: missing %v, unexpected %v", missing, extra)
	}

	root := filepath.Join(tmp, "root")
	ctrl := filepath.Join(tmp, "DEBIAN")
	run("dpkg-deb", "-x", deb, root)
	run("dpkg-deb", "-e", deb, ctrl)
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	// conffiles: the agent's config (as shipped) and the database's defaults
	if c := strings.Fields(read(filepath.Join(ctrl, "conffiles"))); strings.Join(c, " ") != "/etc/chainwire/chainwired.yaml /etc/default/chainwire-nb" {
		t.Errorf("conffiles %v", c)
	}
	if read(filepath.Join(root, "etc/chainwire/chainwired.yaml")) != read("../deploy/chainwired.yaml") {
		t.Error("/etc/chainwire/chainwired.yaml is not deploy/chainwired.yaml")
	}
	// md5sums cover every file
	md5 := exec.Command("md5sum", "--check", "--quiet", filepath.Join(ctrl, "md5sums"))
	md5.Dir = root
	if out, err := md5.CombinedOutput(); err != nil {
		t.Errorf("md5sums: %v\n%s", err, out)
	}
	if n := len(strings.Split(strings.TrimSpace(read(filepath.Join(ctrl, "md5sums"))), "\n")); n != len(want) {
		t.Errorf("md5sums lists %d files, the package has %d", n, len(want))
	}
	// maintainer scripts: valid sh, and they neither enable nor start a service
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		p := filepath.Join(ctrl, s)
		run("sh", "-n", p)
		code := regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(read(p), "") // not the comments
		if m := regexp.MustCompile(`(systemctl|deb-systemd-helper|deb-systemd-invoke)\s+(\S+\s+)*(enable|start)\b`).FindString(code); m != "" {
			t.Errorf("%s: %q: the package must not enable or start services", s, m)
		}
	}

	// the units run the package's paths; nothing names /usr/local
	for unit, exec := range map[string]string{
		"chainwired.service":   "/usr/bin/chainwired --config /etc/chainwire/chainwired.yaml",
		"chainwire-nb.service": "/usr/share/chainwire/chainwire-nb run",
	} {
		text := read(filepath.Join(root, "lib/systemd/system", unit))
		var starts []string
		for _, l := range strings.Split(text, "\n") {
			if c, ok := strings.CutPrefix(l, "ExecStart="); ok {
				starts = append(starts, c)
			}
		}
		if len(starts) != 1 || starts[0] != exec {
			t.Errorf("%s: ExecStart %q, want %q", unit, starts, exec)
		}
		if bin := strings.Fields(exec)[0]; !executable(filepath.Join(root, bin)) {
			t.Errorf("%s runs %s, which the package does not install as an executable", unit, bin)
		}
	}
	script := read(filepath.Join(root, "usr/share/chainwire/chainwire-nb"))
	if !strings.Contains(script, "NB_SCHEMA=${NB_SCHEMA:-/usr/share/chainwire/chainwire_nb.ovsschema}") {
		t.Error("chainwire-nb's default schema is not the packaged one")
	}
	for _, p := range []string{"lib/systemd/system/chainwired.service", "lib/systemd/system/chainwire-nb.service", "usr/share/chainwire/chainwire-nb"} {
		if strings.Contains(read(filepath.Join(root, p)), "/usr/local") {
			t.Errorf("/%s names /usr/local", p)
		}
	}
	// systemd-analyze verify in the unpacked root (it looks there for the
	// units' commands), with the machine's own units beside ours for
	// sysinit.target, ovs-vswitchd.service and the like
	units := filepath.Join(root, "lib/systemd/system")
	if out, err := exec.Command("cp", "-an", "/lib/systemd/system/.", units+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	verify := exec.Command("systemd-analyze", "verify", "--root="+root,
		"/lib/systemd/system/chainwired.service", "/lib/systemd/system/chainwire-nb.service")
	if out, err := verify.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify --root: %v\n%s", err, out)
	}

	// the packaged binaries run, and their man pages hold what --help says
	help := func(bin string) string {
		t.Helper()
		out, err := exec.Command(filepath.Join(root, "usr/bin", bin), "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%s --help: %v\n%s", bin, err, out)
		}
		return string(out)
	}
	ctlHelp, agentHelp := help("chainctl"), help("chainwired")
	page := func(p string) string {
		t.Helper()
		f, err := os.Open(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, err := io.ReadAll(z)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		// it renders, without a warning (man-db is not among the e2e
		// prerequisites: without it, only the roff is checked)
		if _, err := exec.LookPath("man"); err != nil {
			t.Logf("man is not installed (apt-get install man-db): %s not rendered", p)
			return string(b)
		}
		man := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", "-")
		man.Stdin = bytes.NewReader(b)
		man.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_STDERR=1", "LC_ALL=C.UTF-8")
		var stdout, stderr bytes.Buffer
		man.Stdout, man.Stderr = &stdout, &stderr
		if err := man.Run(); err != nil || stderr.Len() > 0 || !strings.Contains(stdout.String(), "NAME") {
			t.Errorf("man -l %s: %v\n%s", p, err, stderr.String())
		}
		return string(b)
	}
	ctlPage := page("usr/share/man/man1/chainctl.1.gz")
	agentPage := page("usr/share/man/man8/chainwired.8.gz")
	if !strings.Contains(ctlPage, ".TH CHAINCTL 1 ") || !strings.Contains(agentPage, ".TH CHAINWIRED 8 ") {
		t.Error("man page headers")
	}
	verb := regexp.MustCompile(`(?m)^  ([a-z][a-z0-9-]*) `)
	verbs := verb.FindAllStringSubmatch(ctlHelp, -1)
	if len(verbs) < 50 {
		t.Fatalf("chainctl --help lists %d verbs", len(verbs))
	}
	for _, v := range verbs {
		if !strings.Contains(ctlPage, ".TP\n\\fB"+strings.ReplaceAll(v[1], "-", `\-`)+`\fR`) {
			t.Errorf("chainctl(1) lacks the verb %s", v[1])
		}
	}
	for _, f := range regexp.MustCompile(`(?m)^  -([a-z-]+)`).FindAllStringSubmatch(agentHelp, -1) {
		if !strings.Contains(agentPage, ".TP\n\\fB\\-\\-"+strings.ReplaceAll(f[1], "-", `\-`)+`\fR`) {
			t.Errorf("chainwired(8) lacks --%s", f[1])
		}
	}

	// docs: the copyright names what the binaries link
	copyright := read(filepath.Join(root, "usr/share/doc/chainwire/copyright"))
	for _, m := range []string{"The Go standard library", "github.com/contiv/libOpenflow", "github.com/ovn-kubernetes/libovsdb", "github.com/sirupsen/logrus"} {
		if !strings.Contains(copyright, m) {
			t.Errorf("copyright does not mention %s", m)
		}
	}
}

func executable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}
