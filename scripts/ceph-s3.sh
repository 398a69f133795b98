#!/usr/bin/env bash
# Throwaway single-node Ceph (1 mon, 1 memstore OSD, RGW) giving an S3 endpoint
# on 127.0.0.1 for the test suite.  Usage: ceph-s3.sh up|down|status
# Everything lives under $CEPH_S3_DIR, so `down` leaves nothing behind.
set -Eeuo pipefail   # -E: the ERR trap also fires inside functions

DIR=${CEPH_S3_DIR:-/tmp/ceph-s3}
PORT=${CEPH_S3_PORT:-7480}
AK=${CEPH_S3_ACCESS_KEY:-portaltestaccess}
SK=${CEPH_S3_SECRET_KEY:-portaltestsecret}
WAIT=${CEPH_S3_TIMEOUT:-90}
CONF=$DIR/ceph.conf
ENDPOINT=http://127.0.0.1:$PORT
DAEMONS=(mon.a osd.0 client.rgw.portal)
PKGS=(ceph-mon ceph-osd radosgw ceph-common)
LOG=$DIR/log/mon.a.log                   # log shown if a step fails

say() { echo "ceph-s3: $*" >&2; }
die() { say "$*"; exit 1; }
# On any failing step show the tail of the log of the stage we were in.
on_err() {
  say "failed at line $1; last lines of $LOG:"
  tail -n 25 "$LOG" >&2 2>/dev/null || true
  say "logs kept in $DIR/log; run '$0 down' to clean up"
  exit 1
}
# The CLI tools hang forever without a quorum, so always bound them.
cph() { timeout 30 ceph -c "$CONF" "$@"; }

pid_of() { cat "$DIR/run/$1.pid" 2>/dev/null; }
running() {  # pid $1 exists and is not a zombie (our PID 1 reaps orphans lazily)
  local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [[ -n $st && $st != Z ]]
}
alive() {  # daemon $1 has a pid file whose process is still a running ceph daemon
  local pid; pid=$(pid_of "$1") && [[ -n $pid ]] && running "$pid" &&
    grep -qE '^(ceph-|radosgw)' "/proc/$pid/comm" 2>/dev/null
}
all_alive() { local d; for d in "${DAEMONS[@]}"; do alive "$d" || return 1; done; }
any_alive() { local d; for d in "${DAEMONS[@]}"; do alive "$d" && return 0; done; return 1; }
s3_answers() { curl -s -o /dev/null -m 2 "$ENDPOINT/"; }  # any HTTP reply counts

settings() {
  echo "MEDIA_STORAGE_ENDPOINT=$ENDPOINT MEDIA_STORAGE_ACCESS_KEY=$AK" \
       "MEDIA_STORAGE_SECRET_KEY=$SK MEDIA_STORAGE_REGION=default"
  echo "# path-style addressing, SigV4"
}

ensure_packages() {
  local p missing=()
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]} (apt-get) ..."
  export DEBIAN_FRONTEND=noninteractive
  # Lock::Timeout makes apt wait for a concurrent apt/dpkg instead of failing.
  local apt=(apt-get -q -y -o DPkg::Lock::Timeout=900) log=$DIR/apt.log
  mkdir -p "$DIR"
  if ! "${apt[@]}" install --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    "${apt[@]}" update >>"$log" 2>&1 || true   # stale package lists are the usual cause
    "${apt[@]}" install --no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
      die "cannot install Ceph packages: $(grep -E '^E:' "$log" | tail -n 1 || tail -n 1 "$log")"
  fi
}

write_conf() {
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  # \$cluster/\$name/\$id are Ceph metavariables, expanded by Ceph itself.
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon_host = [v2:127.0.0.1:3300]
public_addr = 127.0.0.1
ms_bind_msgr1 = false
keyring = $DIR/keyring
run_dir = $DIR/run
pid_file = $DIR/run/\$name.pid
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
mon_cluster_log_file = $DIR/log/cluster.log
crash_dir = $DIR/crash
# one OSD: no replication, few PGs, no autoscaler (there is no mgr)
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_max_pg_per_osd = 1000
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
auth_allow_insecure_global_id_reclaim = false
[mon]
mon_data = $DIR/mon/\$cluster-\$id
mon_data_avail_warn = 2
mon_data_avail_crit = 1
# commit map changes every 0.1 s instead of 1 s: RGW's pool creation is ~10 map updates
paxos_propose_interval = 0.1
paxos_min_wait = 0.01
[osd]
osd_data = $DIR/osd/\$cluster-\$id
# RAM-backed store: fast, nothing on disk, capped at 2 GiB (the benchmarks write a few GB in a run)
osd_objectstore = memstore
memstore_device_bytes = 2147483648
osd_memory_target = 268435456
[client.rgw.portal]
rgw_data = $DIR/rgw
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_thread_pool_size = 32
# a lifecycle "day" lasts 10 s, so expiry rules can be tested quickly
rgw_lc_debug_interval = 10
# deleted data is reclaimed within seconds instead of after two hours, so a long run does not fill the store
rgw_gc_obj_min_wait = 10
rgw_gc_processor_period = 10
EOF
}

make_keys() {
  # One keyring holds every entity; mon --mkfs imports them all into the auth db.
  local k=$DIR/keyring
  ceph-authtool --create-keyring "$k" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$k" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *'
  ceph-authtool "$k" --gen-key -n osd.0 \
    --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd'
  ceph-authtool "$k" --gen-key -n client.rgw.portal \
    --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw'
}

up() {
  if all_alive; then
    say "already running in $DIR"; settings; return 0
  fi
  any_alive && { say "stale half-started cluster found, removing it"; down; }
  rm -rf "$DIR"
  local t0=$SECONDS
  ensure_packages
  s3_answers && die "something else already answers on $ENDPOINT"
  mkdir -p "$DIR"/{run,log,crash,rgw,mon/ceph-a,osd/ceph-0}
  trap 'on_err $LINENO' ERR
  write_conf
  make_keys

  LOG=$DIR/log/mon.a.log
  monmaptool -c "$CONF" --create --clobber --fsid "$(awk '$1=="fsid"{print $3}' "$CONF")" \
    --addv a '[v2:127.0.0.1:3300]' "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$DIR/keyring"
  ceph-mon -c "$CONF" -i a

  LOG=$DIR/log/osd.0.log
  local uuid; uuid=$(cat /proc/sys/kernel/random/uuid)
  cph osd new "$uuid" >/dev/null           # waits for the mon quorum; allocates id 0
  # --no-mon-config: mkfs must not try to fetch config from the mon.
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" --no-mon-config 2>>"$LOG"
  ceph-osd -c "$CONF" -i 0 2>>"$LOG"

  LOG=$DIR/log/client.rgw.portal.log
  radosgw -c "$CONF" -n client.rgw.portal
  local deadline=$((SECONDS + WAIT))
  until s3_answers; do
    alive client.rgw.portal || { say "radosgw exited"; on_err $LINENO; }
    ((SECONDS < deadline)) || { say "no S3 answer on $ENDPOINT after ${WAIT}s"; on_err $LINENO; }
    sleep 0.5
  done

  LOG=$DIR/log/client.admin.log
  radosgw-admin -c "$CONF" user info --uid=portal-test >/dev/null 2>&1 ||
    radosgw-admin -c "$CONF" user create --uid=portal-test --display-name="Portal tests" \
      --access-key="$AK" --secret="$SK" >/dev/null
  trap - ERR
  say "up in $((SECONDS - t0))s, data in $DIR"
  settings
}

stop() {  # stop daemons "$@": TERM, wait up to 3 s, then KILL
  local d p i pids=() left=()
  for d in "$@"; do alive "$d" && pids+=("$(pid_of "$d")"); done
  ((${#pids[@]})) || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    ((i == 15)) && { say "still running after TERM: ${left[*]}, sending KILL"; kill -KILL "${left[@]}" 2>/dev/null || true; }
    left=(); for p in "${pids[@]}"; do running "$p" && left+=("$p"); done
    ((${#left[@]})) || return 0
    sleep 0.2
  done
  say "could not stop pid(s) ${left[*]}"
}

down() {
  # radosgw 16.x hangs on TERM while joining its lifecycle thread (hence the KILL);
  # the mon goes last because the OSD reports its shutdown to it.
  stop client.rgw.portal osd.0
  stop mon.a
  # guard against a bad CEPH_S3_DIR before rm -rf
  [[ $DIR == / || -z $DIR ]] && die "refusing to remove '$DIR'"
  rm -rf "$DIR"
  say "down"
}

status() {
  if all_alive && s3_answers; then
    echo "ceph-s3: up ($DIR)"; settings
  elif any_alive; then
    echo "ceph-s3: partly up (some daemons running, S3 not answering)"; return 1
  else
    echo "ceph-s3: down"; return 3
  fi
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
