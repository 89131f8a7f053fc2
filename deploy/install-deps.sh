#!/usr/bin/env bash
# Installs the Debian packages chainwire's lab and tests need, if missing.
set -euo pipefail
need=()
for pair in ovs-vswitchd:openvswitch-switch tcpdump:tcpdump ping:iputils-ping iperf3:iperf3 \
            ip:iproute2 ethtool:ethtool arping:iputils-arping; do
    cmd=${pair%%:*} pkg=${pair#*:}
    command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
