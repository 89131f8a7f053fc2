// Package profile lets an operator or a benchmark see where a process
// spends its time: CHAINWIRE_CPUPROFILE=FILE writes a CPU profile of the
// whole run (%p in the name becomes the process ID), and
// CHAINWIRE_PPROF=SOCKET serves net/http/pprof on a unix socket (curl
// --unix-socket SOCKET http://x/debug/pprof/profile?seconds=10 > cpu.prof).
package profile

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	runtimepprof "runtime/pprof"
	"strconv"
	"strings"
)

// Start starts what the environment asks for; the returned function
// stops it and writes the profile.
func Start() (stop func()) {
	if sock := os.Getenv("CHAINWIRE_PPROF"); sock != "" {
		serve(strings.ReplaceAll(sock, "%p", strconv.Itoa(os.Getpid())))
	}
	path := os.Getenv("CHAINWIRE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(strings.ReplaceAll(path, "%p", strconv.Itoa(os.Getpid())))
	if err == nil {
		err = runtimepprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "CHAINWIRE_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		runtimepprof.StopCPUProfile()
		f.Close()
	}
}

func serve(sock string) {
	os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintf(os.Stderr, "CHAINWIRE_PPROF: %v\n", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	go http.Serve(l, mux)
}
