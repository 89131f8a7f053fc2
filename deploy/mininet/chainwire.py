"""Mininet topologies for chainwire.

A Hypervisor node runs, in its own network namespace, its own ovsdb-server
and ovs-vswitchd (userspace datapath: no kernel module needed) and a
chainwired for its chassis; VMs (Mininet hosts) and bump-in-the-wire VNFs
(a Linux bridge between two interfaces) plug into its br-int, their
interface on the hypervisor named after their logical port (OVN's
iface-id). Hypervisors share a Geneve underlay (192.0.2.0/24, a direct
link). The model is a chainwire model file that the topology writes with
chainctl before the network starts; the agents program it.

The seed's cases: case1 (one VNF, app1 and app2 on hv1), case2 (one VNF,
app2 on hv2), case3 (three VNFs on hv1, app2 on hv2):

    sudo mn --custom deploy/mininet/chainwire.py --topo case3 --test pingall
    sudo mn --custom deploy/mininet/chainwire.py --topo case3 --test chain

`chain` is pingall, then each VNF interface's receive counter (what the
chain carried). The binaries come from $CHAINWIRE_BIN (default: the
repository's bin/, else /usr/bin); state (model, OVS databases, logs) goes
to $CHAINWIRE_MN_STATE (default: a new directory under /tmp), and stays
there after the run for reading.
"""

import json
import os
import sys
import tempfile
import time

from mininet.log import info
from mininet.node import Host, Switch
from mininet.topo import Topo

def _here():
    """This file's directory: mn runs custom files without __file__, so it
    is the --custom argument's."""
    args = sys.argv[1:]
    for i, a in enumerate(args):
        path = a[len('--custom='):] if a.startswith('--custom=') else (args[i + 1] if a == '--custom' and i + 1 < len(args) else '')
        for f in path.split(','):
            if f.endswith('chainwire.py'):
                return os.path.dirname(os.path.abspath(f))
    return os.getcwd()


HERE = _here()
BIN = os.environ.get('CHAINWIRE_BIN') or next(
    (d for d in (os.path.join(HERE, '..', '..', 'bin'), '/usr/bin')
     if os.path.exists(os.path.join(d, 'chainwired'))), '/usr/bin')
STATE = os.environ.get('CHAINWIRE_MN_STATE') or tempfile.mkdtemp(prefix='chainwire-mn-')
MODEL = os.path.join(STATE, 'nb.json')
SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema'
UNDERLAY = {'hv1': '192.0.2.1', 'hv2': '192.0.2.2'}


def chainctl(*args):
    """Runs chainctl against the topology's model; a failure stops the run."""
    import subprocess
    cmd = [os.path.join(BIN, 'chainctl'), '--db', MODEL] + list(args)
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError('%s: %s' % (' '.join(cmd), res.stderr.strip()))
    return res.stdout


def wait_for(what, cond, timeout=20.0):
    """Polls cond until it holds; raises naming what did not happen."""
    deadline = time.time() + timeout
    while not cond():
        if time.time() > deadline:
            raise RuntimeError('after %.0f s: %s' % (timeout, what))
        time.sleep(0.05)


class CWHost(Host):
    """A VM: no IPv6 chatter, and checksums done in software (OVS 3.1's
    AF_PACKET ports do not finish partial ones)."""

    def config(self, **params):
        r = super(CWHost, self).config(**params)
        self.cmd('sysctl -qw net.ipv6.conf.all.disable_ipv6=1')
        for intf in self.intfNames():
            if intf != 'lo':
                self.cmd('ethtool -K %s tx off' % intf)
        return r


class VNF(Switch):
    """A two-armed bump-in-the-wire VNF: a Linux bridge between its two
    interfaces that forwards everything (no learning, no snooping) and
    originates nothing."""

    def __init__(self, name, **params):
        params['inNamespace'] = True  # mn passes its own --innamespace
        Switch.__init__(self, name, **params)

    def start(self, controllers):
        self.cmd('sysctl -qw net.ipv6.conf.all.disable_ipv6=1')
        self.cmd('ip link add br0 type bridge ageing_time 0 mcast_snooping 0')
        self.cmd('ip link set br0 multicast off arp off')
        for intf in self.intfNames():
            if intf in ('lo', 'br0'):
                continue
            self.cmd('ip link set %s multicast off' % intf)
            self.cmd('ethtool -K %s tx off' % intf)
            self.cmd('ip link set %s master br0' % intf)
        self.cmd('ip link set br0 up')

    def stop(self, deleteIntfs=True):
        self.cmd('ip link del br0')
        Switch.stop(self, deleteIntfs)

    def counters(self):
        return {intf: int(self.cmd('cat /sys/class/net/%s/statistics/rx_packets' % intf).strip() or 0)
                for intf in self.intfNames() if intf not in ('lo', 'br0')}


class Hypervisor(Switch):
    """A chainwire hypervisor: ovsdb-server, ovs-vswitchd (netdev) and
    chainwired in the node's namespace, br-phy on the underlay (ul0),
    br-int with every other interface plugged in under its own name as
    iface-id."""

    started = []  # hypervisors up, in start order (to warm the underlay)

    def __init__(self, name, **params):
        params['inNamespace'] = True  # mn passes its own --innamespace
        Switch.__init__(self, name, **params)
        self.rundir = os.path.join(STATE, name)
        self.pids = []

    def sh(self, cmd):
        out = self.cmd('OVS_RUNDIR=%s OVS_DBDIR=%s %s; echo "rc=$?"' % (self.rundir, self.rundir, cmd))
        body, _, rc = out.rpartition('rc=')
        if rc.strip() != '0':
            raise RuntimeError('%s: %s: %s' % (self.name, cmd, body.strip()))
        return body

    def vsctl(self, args):
        return self.sh('ovs-vsctl --db=unix:%s/db.sock --timeout=10 %s' % (self.rundir, args))

    def daemon(self, prog, args):
        r = self.rundir
        self.sh('%s %s --pidfile=%s/%s.pid --log-file=%s/%s.log --unixctl=%s/%s.ctl -vconsole:off --detach --no-chdir'
                % (prog, args, r, prog, r, prog, r, prog))
        with open(os.path.join(r, prog + '.pid')) as f:
            self.pids.append(int(f.read().strip()))

    def start(self, controllers):
        os.makedirs(self.rundir, exist_ok=True)
        r, ip = self.rundir, UNDERLAY[self.name]
        self.cmd('ip link set lo up')
        self.cmd('sysctl -qw net.ipv6.conf.all.disable_ipv6=1')
        self.sh('ovsdb-tool create %s/conf.db %s' % (r, SCHEMA))
        self.daemon('ovsdb-server', '%s/conf.db --remote=punix:%s/db.sock' % (r, r))
        self.vsctl('--no-wait init -- set Open_vSwitch . external_ids:system-id=%s' % self.name)
        self.daemon('ovs-vswitchd', 'unix:%s/db.sock' % r)
        self.vsctl('add-br br-phy -- set bridge br-phy datapath_type=netdev -- add-port br-phy ul0 '
                   '-- add-br br-int -- set bridge br-int datapath_type=netdev fail-mode=secure protocols=OpenFlow13')
        self.sh('ip addr add %s/24 dev br-phy && ip link set br-phy up && ethtool -K br-phy tx off' % ip)
        for intf in self.intfNames():
            if intf in ('lo', 'ul0'):
                continue
            self.sh('ethtool -K %s tx off' % intf)
            self.vsctl('add-port br-int %s -- set interface %s external_ids:iface-id=%s' % (intf, intf, intf))
        out = self.sh('%s/chainwired --config /dev/null --chassis %s --ovs-db unix:%s/db.sock --ovs-rundir %s '
                      '--db %s --encap-ip %s > %s/chainwired.log 2>&1 & echo "pid=$!"'
                      % (BIN, self.name, r, r, MODEL, ip, r))
        pid = int(out.rpartition('pid=')[2])
        self.pids.append(pid)
        with open(os.path.join(r, 'chainwired.pid'), 'w') as f:
            f.write('%d\n' % pid)
        wait_for('%s programs the model (see %s/chainwired.log)' % (self.name, r), self.applied)
        for other in Hypervisor.started:
            self.warm(other)
        Hypervisor.started.append(self)

    def applied(self):
        try:
            with open(os.path.join(STATE, 'status', self.name + '.json')) as f:
                st = json.load(f)
            with open(MODEL) as f:
                gen = json.load(f)['generation']
        except (OSError, ValueError, KeyError):
            return False
        return st.get('connected') and st.get('generation') == gen

    def warm(self, other):
        """Userspace tunnelling drops a packet towards a next hop it has
        not resolved: each side pings the other until its tunnel ARP
        table has it."""
        for a, b in ((self, other), (other, self)):
            ip = UNDERLAY[b.name]
            a.sh('ping -q -c 1 -W 2 %s' % ip)
            wait_for('%s resolves %s for tunnelling' % (a.name, ip),
                     lambda a=a, ip=ip: ip + ' ' in a.sh('ovs-appctl -t %s/ovs-vswitchd.ctl tnl/arp/show' % a.rundir))

    def stop(self, deleteIntfs=True):
        for pid in reversed(self.pids):
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                continue
            wait_for('process %d exits' % pid, lambda pid=pid: not os.path.exists('/proc/%d' % pid), timeout=10)
        self.pids = []
        if self in Hypervisor.started:
            Hypervisor.started.remove(self)
        Switch.stop(self, deleteIntfs)


def mac(n):
    return '02:00:00:00:%02x:%02x' % (n >> 8, n & 0xff)


class ChainTopo(Topo):
    """The seed's cases: app1 and n two-armed VNFs on hv1, app2 on
    app2_on; port keys as the seed's (app1 P1, VNF k P2k/P2k+1, app2
    P2n+2); one chain through the n VNFs, classifier entry-lport
    bi-directional on app2."""

    def build(self, vnfs=3, app2_on='hv2'):
        hvs = ['hv1'] if app2_on == 'hv1' else ['hv1', 'hv2']
        for h in hvs:
            self.addSwitch(h, cls=Hypervisor)
        if len(hvs) == 2:
            self.addLink('hv1', 'hv2', intfName1='ul0', intfName2='ul0')
        else:
            # A lone hypervisor still has an underlay NIC for br-phy.
            self.addSwitch('ul9', cls=VNF)
            self.addLink('hv1', 'ul9', intfName1='ul0')
        chainctl('ls-add', 'SW0', '--tunnel-key', '1')
        for h in hvs:
            chainctl('chassis-add', h, 'geneve', UNDERLAY[h])
        app2 = 2 * vnfs + 2
        for name, key, host, n in (('app1', 1, 'hv1', 1), ('app2', app2, app2_on, 2)):
            port = 'P%d' % key
            self.addHost(name, cls=CWHost, ip='10.0.0.%d/24' % n, mac=mac(n))
            self.addLink(name, host, intfName2=port)
            chainctl('lsp-add', 'SW0', port, '--tunnel-key', str(key), '--', 'lsp-set-addresses', port,
                     '%s 10.0.0.%d' % (mac(n), n), '--', 'lsp-set-options', port, 'requested-chassis=' + host)
        chainctl('lsp-chain-add', 'SW0', 'PC1')
        for k in range(1, vnfs + 1):
            vnf, pin, pout = 'vnf%d' % k, 'P%d' % (2 * k), 'P%d' % (2 * k + 1)
            self.addSwitch(vnf, cls=VNF)
            self.addLink(vnf, 'hv1', intfName1=vnf + '-in', intfName2=pin)
            self.addLink(vnf, 'hv1', intfName1=vnf + '-out', intfName2=pout)
            # The pair in the ports' own transaction: as plain ports they
            # would get floods, which the VNF's bridge sends straight back.
            chainctl('lsp-add', 'SW0', pin, '--tunnel-key', str(2 * k), '--', 'lsp-set-options', pin, 'requested-chassis=hv1',
                     '--', 'lsp-add', 'SW0', pout, '--tunnel-key', str(2 * k + 1), '--',
                     'lsp-set-options', pout, 'requested-chassis=hv1', '--', 'lsp-pair-add', 'SW0', pin, pout, 'PP%d' % k,
                     '--', 'lsp-pair-group-add', 'PC1', 'PG%d' % k, '--', 'lsp-pair-group-port-pair-add', 'PG%d' % k, 'PP%d' % k)
        chainctl('lsp-chain-classifier', 'SW0', 'PC1', 'P%d' % app2, 'entry-lport', 'bi-directional', 'PCC1', '')


def chain_test(net):
    """pingall, then what each VNF interface received."""
    lost = net.pingAll()
    counts = {}
    for node in net.switches:
        if isinstance(node, VNF) and not node.name.startswith('ul'):
            for intf, n in sorted(node.counters().items()):
                counts[intf] = n
                info('*** %s received %d frames\n' % (intf, n))
    print('chainwire: pingall lost %d%%; VNF counters %s' % (lost, json.dumps(counts, sort_keys=True)))


topos = {
    'case1': lambda: ChainTopo(vnfs=1, app2_on='hv1'),
    'case2': lambda: ChainTopo(vnfs=1, app2_on='hv2'),
    'case3': lambda: ChainTopo(vnfs=3, app2_on='hv2'),
}
tests = {'chain': chain_test}
