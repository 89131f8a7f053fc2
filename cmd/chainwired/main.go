// Command chainwired is the chainwire agent: one per hypervisor. It renders
// the logical model into OpenFlow 1.3 flows on the local integration bridge
// and keeps them in step with the model and the local interfaces.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/chainwire/chainwire/cmd/chainwired/agent"
	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/internal/profile"
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/nbdb"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"
)

// config holds every setting; each can come from the YAML file and be
// overridden by the flag of the same name.
type config struct {
	Chassis   string `yaml:"chassis"`
	Bridge    string `yaml:"bridge"`
	OVSDB     string `yaml:"ovs-db"`
	OVSRundir string `yaml:"ovs-rundir"`
	DB        string `yaml:"db"`
	EncapIP   string `yaml:"encap-ip"`
	// TLS files for ssl: remotes of --db.
	PrivateKey  string `yaml:"private-key"`
	Certificate string `yaml:"certificate"`
	CACert      string `yaml:"ca-cert"`
	LogLevel    string `yaml:"log-level"`
	LogFormat   string `yaml:"log-format"`
	// Metrics is where Prometheus scrapes the agent (HOST:PORT; "": off).
	Metrics string `yaml:"metrics"`
}

const defaultConfigPath = "/etc/chainwire/chainwired.yaml"

func defaults() config {
	db := os.Getenv("CHAINWIRE_DB")
	if db == "" {
		db = "/var/lib/chainwire/nb.json"
	}
	host, _ := os.Hostname()
	return config{Chassis: host, Bridge: "br-int", OVSDB: "unix:/var/run/openvswitch/db.sock",
		OVSRundir: "/var/run/openvswitch", DB: db, LogLevel: "info", LogFormat: "text", Metrics: "127.0.0.1:9476"}
}

func loadConfig(args []string) (*config, error) {
	cfg := defaults()
	fs := flag.NewFlagSet("chainwired", flag.ContinueOnError)
	cfgPath := fs.String("config", defaultConfigPath, "configuration file (YAML); flags override it")
	var flagCfg config
	fs.StringVar(&flagCfg.Chassis, "chassis", "", "this hypervisor's chassis name (default: hostname)")
	fs.StringVar(&flagCfg.Bridge, "bridge", "", "integration bridge (default br-int)")
	fs.StringVar(&flagCfg.OVSDB, "ovs-db", "", "local OVSDB (default unix:/var/run/openvswitch/db.sock)")
	fs.StringVar(&flagCfg.OVSRundir, "ovs-rundir", "", "ovs-vswitchd's run directory, where BRIDGE.mgmt is (default /var/run/openvswitch)")
	fs.StringVar(&flagCfg.DB, "db", "", "model store: a file, or OVSDB remotes unix:PATH|tcp:IP:PORT|ssl:IP:PORT,... (default $CHAINWIRE_DB or /var/lib/chainwire/nb.json)")
	fs.StringVar(&flagCfg.EncapIP, "encap-ip", "", "this chassis' tunnel IP: creates its chassis in an OVSDB model if chainctl chassis-add did not")
	fs.StringVar(&flagCfg.PrivateKey, "private-key", "", "ssl: remotes: this agent's private key (PEM)")
	fs.StringVar(&flagCfg.Certificate, "certificate", "", "ssl: remotes: this agent's certificate (PEM)")
	fs.StringVar(&flagCfg.CACert, "ca-cert", "", "ssl: remotes: the CA certificate that signed the servers' (PEM)")
	fs.StringVar(&flagCfg.LogLevel, "log-level", "", "debug, info, warn or error (default info)")
	fs.StringVar(&flagCfg.LogFormat, "log-format", "", "text or json (default text)")
	fs.StringVar(&flagCfg.Metrics, "metrics", "", "serve Prometheus metrics on HOST:PORT/metrics (default 127.0.0.1:9476; an empty value turns them off)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	explicit, metricsSet := false, false
	fs.Visit(func(f *flag.Flag) {
		explicit = explicit || f.Name == "config"
		metricsSet = metricsSet || f.Name == "metrics"
	})
	if b, err := os.ReadFile(*cfgPath); err == nil {
		if err := decodeConfig(b, &cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", *cfgPath, err)
		}
	} else if explicit || !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, o := range []struct{ dst, src *string }{
		{&cfg.Chassis, &flagCfg.Chassis}, {&cfg.Bridge, &flagCfg.Bridge}, {&cfg.OVSDB, &flagCfg.OVSDB},
		{&cfg.OVSRundir, &flagCfg.OVSRundir}, {&cfg.DB, &flagCfg.DB}, {&cfg.EncapIP, &flagCfg.EncapIP},
		{&cfg.PrivateKey, &flagCfg.PrivateKey}, {&cfg.Certificate, &flagCfg.Certificate}, {&cfg.CACert, &flagCfg.CACert},
		{&cfg.LogLevel, &flagCfg.LogLevel}, {&cfg.LogFormat, &flagCfg.LogFormat},
	} {
		if *o.src != "" {
			*o.dst = *o.src
		}
	}
	if metricsSet {
		cfg.Metrics = flagCfg.Metrics // an empty flag too: metrics off
	}
	if err := topology.CheckName("chassis", cfg.Chassis); err != nil {
		return nil, fmt.Errorf("--chassis: %w", err)
	}
	return &cfg, nil
}

// decodeConfig reads the YAML file; a key it does not know is an error
// that lists the keys it does (a typo must not silently fall back to a
// default).
func decodeConfig(b []byte, cfg *config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	var known []string
	t := reflect.TypeOf(*cfg)
	for i := 0; i < t.NumField(); i++ {
		known = append(known, t.Field(i).Tag.Get("yaml"))
	}
	return fmt.Errorf("%v (known keys: %s)", err, strings.Join(known, ", "))
}

func newLogger(cfg *config) (*logrus.Entry, error) {
	l := logrus.New()
	lvl, err := logrus.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	l.SetLevel(lvl)
	switch cfg.LogFormat {
	case "text":
		l.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "2006-01-02T15:04:05.000000Z07:00"})
	case "json":
		l.SetFormatter(&logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano})
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", cfg.LogFormat)
	}
	return l.WithField("chassis", cfg.Chassis), nil
}

func main() {
	cfg, err := loadConfig(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "chainwired:", err)
		os.Exit(2)
	}
	log, err := newLogger(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chainwired:", err)
		os.Exit(2)
	}
	stop := profile.Start()
	err = run(cfg, log)
	stop()
	if err != nil {
		log.WithError(err).Error("agent stopped")
		os.Exit(1)
	}
	log.Info("agent stopped; flows stay installed")
}

// openStore opens the model store and, for OVSDB, registers this chassis
// (waiting for the database if it is not up yet; a name clash is fatal).
// An agent reads any cluster member, starting with a random one, so that
// agents spread over the members.
func openStore(ctx context.Context, cfg *config, log *logrus.Entry) (topology.Store, error) {
	if !nbdb.IsRemote(cfg.DB) {
		return topology.NewFileStore(cfg.DB), nil
	}
	tlsCfg, err := nbdb.TLSFiles{PrivateKey: cfg.PrivateKey, Certificate: cfg.Certificate, CACert: cfg.CACert}.Config()
	if err != nil {
		return nil, err
	}
	s, err := nbdb.Open(nbdb.Shuffle(cfg.DB), nbdb.Options{AnyMember: true, TLS: tlsCfg})
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	reg := topology.Registration{Chassis: cfg.Chassis, Hostname: host, EncapIP: cfg.EncapIP}
	log.Infof("registering chassis %s in %s", cfg.Chassis, cfg.DB)
	for {
		err := s.RegisterChassis(reg)
		if err == nil {
			return s, nil
		}
		if errors.Is(err, nbdb.ErrClash) || !nbdb.Unreachable(err) {
			return nil, err
		}
		log.WithError(err).Warn("cannot register the chassis yet; retrying")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func run(cfg *config, log *logrus.Entry) error {
	unlock, err := agent.LockBridge(cfg.OVSRundir, cfg.Bridge)
	if err != nil {
		return err
	}
	defer unlock()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	setup := newBridgeSetup(cfg, log)
	if err := setup.ensure(); err != nil {
		return fmt.Errorf("bridge setup: %w", err)
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	acfg := agent.Config{Chassis: cfg.Chassis, Bridge: cfg.Bridge, OVSRundir: cfg.OVSRundir, Metrics: agent.NewMetrics()}
	if err := serveMetrics(ctx, cfg.Metrics, acfg.Metrics, log); err != nil {
		return err
	}
	dial := func(ctx context.Context) (*controller.Conn, error) {
		return controller.Dial(ctx, "unix:"+acfg.MgmtSocket())
	}
	a := agent.New(acfg, log, store, dial, setup)
	mon := &ifaceMonitor{target: cfg.OVSDB, log: log}
	go mon.run(ctx, func(b agent.Bindings) { a.SetBindings(ctx, b) })
	log.Infof("model %s", cfg.DB)
	return a.Run(ctx)
}

// serveMetrics serves the agent's series on addr/metrics until ctx ends
// ("" : not at all). An address it cannot listen on stops the agent at
// its start, so that a wrong setting is seen.
func serveMetrics(ctx context.Context, addr string, m *agent.Metrics, log *logrus.Entry) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--metrics %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Infof("metrics on http://%s/metrics", ln.Addr())
	return nil
}
