#!/usr/bin/env bash
# Installs the Debian packages chainwire's lab and tests need, if missing.
# With --bench, also OVN (ovn-central, ovn-host), which `make bench` runs
# beside chainwire in its own namespaces: the packages' services are kept
# from starting, so nothing of OVN runs on the machine's own OVS.
set -euo pipefail
pairs="ovs-vswitchd:openvswitch-switch tcpdump:tcpdump ping:iputils-ping iperf3:iperf3
       ip:iproute2 ethtool:ethtool arping:iputils-arping dhclient:isc-dhcp-client dig:bind9-dnsutils traceroute:traceroute mn:mininet man:man-db"
if [ "${1:-}" = --bench ]; then
    pairs="$pairs ovn-northd:ovn-central ovn-controller:ovn-host"
fi
need=()
for pair in $pairs; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    policy=/usr/sbin/policy-rc.d
    if [ "${1:-}" = --bench ] && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
