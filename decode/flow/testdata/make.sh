#!/usr/bin/env bash
# Writes the fixtures of decode/flow's tests: what real exporters send for
# pcaps/reflection.pcap, captured with tcpdump on the loopback interface. Debian's pmacct
# (pmacctd with its sfprobe and nfprobe plugins) and softflowd read the capture file and
# export to 127.0.0.1; the datagrams go to a port nothing else uses and tcprewrite puts them
# on the protocols' default ports. Run as root from the repository's top: pmacct's sampling
# is a pseudo-random sequence that starts the same on every run, softflowd's is periodic, so
# the fixtures come out the same each time.
set -euo pipefail
cd "$(dirname "$0")"
in=../../../pcaps/reflection.pcap
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# capture OUT PORT DEFAULTPORT COMMAND...: the datagrams COMMAND sends to 127.0.0.1:PORT,
# moved to DEFAULTPORT, gzip-compressed into OUT.
capture() {
  local out=$1 port=$2 to=$3; shift 3
  python3 -c 'import socket,sys,time
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1]))); s.settimeout(8)
try:
  while True: s.recv(65536)
except socket.timeout: pass' "$port" &
  local sink=$!
  tcpdump -i lo -w "$tmp/raw.pcap" -U "udp dst port $port" 2>/dev/null &
  local dump=$!
  sleep 1
  "$@" >"$tmp/log" 2>&1
  sleep 1
  kill -INT "$dump"; wait "$dump" || true
  kill "$sink" 2>/dev/null || true
  tcprewrite --portmap="$port:$to" --infile="$tmp/raw.pcap" --outfile="$tmp/out.pcap"
  gzip -9 -n -c "$tmp/out.pcap" >"$out"
  echo "$out: $(capinfos -c -M "$tmp/out.pcap" | awk '/Number of packets/ {print $NF}') datagrams"
}

pmacct() { # CONF: pmacctd reading the capture with the plugin configuration CONF
  printf 'daemonize: false\npcap_savefile: %s\n%s\n' "$in" "$1" >"$tmp/pmacct.conf"
  pmacctd -f "$tmp/pmacct.conf"
}

capture pmacct-sflow.pcap.gz 16343 6343 pmacct $'plugins: sfprobe\nsfprobe_receiver: 127.0.0.1:16343\nsfprobe_agentip: 192.0.2.250\nsampling_rate: 10'
capture pmacct-netflow.pcap.gz 12055 2055 pmacct $'plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:12055\nnfprobe_version: 9\nsampling_rate: 10'
capture pmacct-ipfix.pcap.gz 14739 4739 pmacct $'plugins: nfprobe\nnfprobe_receiver: 127.0.0.1:14739\nnfprobe_version: 10'
capture softflowd-psamp.pcap.gz 14740 4739 softflowd -d -r "$in" -n 127.0.0.1:14740 -v psamp -s 10
