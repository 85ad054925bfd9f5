#!/usr/bin/env bash
# Start, stop and check a one-node SLURM cluster with accounting on loopback, for
# the tests that submit jobs with submitit.
#
# Usage: slurm.sh install|start|stop|status|env
#
# Written for Debian 12 (slurm-wlm 22.05.8, munge 0.5.15, MariaDB 10.11), run as
# root on a machine without systemd: the script starts each daemon itself, in the
# foreground mode (-D/-F) in a new session, and records its pid.
#
# State lives in $WALL_SLURM_DIR (default /tmp/wall-slurm):
#   log/<daemon>.log    stdout and stderr of each daemon, appended on every start
#   run/<daemon>.pid    pid of each daemon this script started
#   run/mysqld.sock     MariaDB socket (MariaDB listens on no TCP port)
#   mysql/              MariaDB data directory
#   slurmctld/ slurmd/  SLURM state and spool directories
#
# The configs go to /etc/slurm/slurm.conf and /etc/slurm/slurmdbd.conf, where the
# Debian clients look by default, so plain sbatch, squeue and sacct work for any
# user without SLURM_CONF. Because of that, and because the SLURM ports 6817-6819
# are fixed, only one such cluster runs on a machine at a time.
#
# Environment:
#   WALL_SLURM_DIR      state directory (default /tmp/wall-slurm)
#   WALL_SLURM_TIMEOUT  seconds to wait for each start-up step (default 60)
#   WALL_SLURM_CPUS     CPUs the node declares (default: the larger of 8 and the
#                       detected count, so that more than 2 jobs run at once)

set -euo pipefail

STATE_DIR=${WALL_SLURM_DIR:-/tmp/wall-slurm}
STEP_TIMEOUT=${WALL_SLURM_TIMEOUT:-60}
MIN_CPUS=8

CONF_DIR=/etc/slurm
SLURM_CONF_FILE=$CONF_DIR/slurm.conf
DBD_CONF_FILE=$CONF_DIR/slurmdbd.conf
CONF_MARKER="# Written by tests/cluster/slurm.sh for state dir"

MUNGE_KEY=/etc/munge/munge.key
MUNGE_SOCKET_DIR=/run/munge

CLUSTER=wall
ACCOUNT=wall
PARTITION=debug
NODE=localhost

LOG_DIR=$STATE_DIR/log
RUN_DIR=$STATE_DIR/run
MYSQL_DATA_DIR=$STATE_DIR/mysql
MYSQL_SOCKET=$RUN_DIR/mysqld.sock

PACKAGES=(munge slurmctld slurmd slurm-client slurmdbd mariadb-server)
# Start order. stop goes through it backwards.
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)
# Node states in which the node accepts jobs.
READY_NODE_STATES='^(idle|mixed|allocated|completing)$'
# Upper bound for one client command, so that a hung daemon cannot hang the script.
CLIENT_TIMEOUT=15
# Serializes start and stop, for example of parallel pytest workers. The cluster
# is one per machine (see above), so the lock is too.
LOCK_FILE=/run/lock/wall-slurm.lock
LOCK_TIMEOUT=300

log() {
    echo "slurm.sh: $*" >&2
}

die() {
    log "error: $*"
    exit 1
}

# Run a SLURM or MariaDB client command with a time limit.
client() {
    timeout "$CLIENT_TIMEOUT" "$@"
}

# ---------------------------------------------------------------- install

missing_packages() {
    local package status
    for package in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        if [[ $status != "install ok installed" ]]; then
            echo "$package"
        fi
    done
}

cmd_install() {
    local missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        return 0
    fi

    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Update the package lists only when they lack a package or are stale
    # (a download fails with 404 when the lists name an old version).
    if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
        apt-get update -q
    fi
    if ! apt-get install -y -q "${PACKAGES[@]}"; then
        log "apt-get install failed, retrying after apt-get update"
        apt-get update -q
        apt-get install -y -q "${PACKAGES[@]}"
    fi
}

# ---------------------------------------------------------------- pids

pid_file() {
    echo "$RUN_DIR/$1.pid"
}

log_file() {
    echo "$LOG_DIR/$1.log"
}

# Print the recorded pid of a daemon if that process is alive and runs the
# daemon's program, so that a reused pid is never taken for the daemon.
running_pid() {
    local daemon=$1 pid program
    pid=$(cat "$(pid_file "$daemon")" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    program=$(readlink "/proc/$pid/exe" 2>/dev/null || true)
    program=${program##*/}
    # Debian installs the SLURM daemons as <name>-wlm behind a symlink <name>.
    if [[ $program == "$daemon" || $program == "$daemon-wlm" ]]; then
        echo "$pid"
        return 0
    fi
    return 1
}

is_running() {
    running_pid "$1" >/dev/null
}

# fail_daemon DAEMON MESSAGE [CHECK_OUTPUT]: print the error, the output of
# the last failed check and the daemon's log since its latest start, and exit.
fail_daemon() {
    local daemon=$1 message=$2 check_output=${3:-} log_path
    log_path=$(log_file "$daemon")
    log "error: $daemon $message"
    if [[ -n $check_output ]]; then
        log "output of the last check: $check_output"
    fi
    log "last lines of $log_path since the latest start:"
    awk '/^==== .* slurm.sh starting: / { lines = "" } { lines = lines $0 "\n" } END { printf "%s", lines }' \
        "$log_path" 2>/dev/null | tail -n 40 >&2 || true
    if is_running slurmctld; then
        log "node state and reason: $(client sinfo -h -N -o '%T %E' 2>&1 || true)"
    fi
    exit 1
}

# Start a daemon in a new session, detached from the caller's terminal and
# output, and record its pid. The command must stay in the foreground.
start_daemon() {
    local daemon=$1 pid log_path
    shift
    log_path=$(log_file "$daemon")
    printf '\n==== %s slurm.sh starting: %s\n' "$(date -Is)" "$*" >>"$log_path"
    # setsid execs the command without forking, because a background child of
    # this script never leads a process group, so $! is the daemon's pid.
    # 9>&- closes the lock file, which the daemon would otherwise hold locked.
    setsid "$@" </dev/null >>"$log_path" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$(pid_file "$daemon")"
    log "started $daemon (pid $pid), log $log_path"
}

# wait_for DAEMON DESCRIPTION COMMAND...: run COMMAND until it succeeds, for at
# most STEP_TIMEOUT seconds. Fails with the daemon's log if the daemon exits.
wait_for() {
    local daemon=$1 description=$2 deadline check_output
    shift 2
    deadline=$((SECONDS + STEP_TIMEOUT))
    until check_output=$("$@" 2>&1) && is_running "$daemon"; do
        if ! is_running "$daemon"; then
            fail_daemon "$daemon" "exited while waiting for $description" "$check_output"
        fi
        if ((SECONDS >= deadline)); then
            fail_daemon "$daemon" "timed out after ${STEP_TIMEOUT}s waiting for $description" "$check_output"
        fi
        sleep 0.5
    done
}

# Fail if a process listens on a TCP port that a daemon needs. The daemon
# would exit on bind, while the checks reach the other process and pass.
require_free_port() {
    local daemon=$1 port=$2 listeners
    if command -v ss >/dev/null; then
        listeners=$(ss -Hltnp "sport = :$port" 2>/dev/null || true)
    elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        listeners="another process (install iproute2 for ss to name it)"
    else
        listeners=""
    fi
    if [[ -n $listeners ]]; then
        die "cannot start $daemon: TCP port $port is in use by $listeners"
    fi
}

# ---------------------------------------------------------------- checks
# Each check returns 0 when it passes. On failure it prints the reason, which
# wait_for shows if the wait times out.

munge_works() {
    munge -n | unmunge >/dev/null
}

mysql_works() {
    client mariadb --no-defaults --socket="$MYSQL_SOCKET" -e 'SELECT 1' >/dev/null
}

sacctmgr_works() {
    client sacctmgr -n -P show cluster format=cluster >/dev/null
}

# slurmctld has registered with slurmdbd once the database has a control host
# for the cluster.
cluster_registered() {
    local host
    host=$(client sacctmgr -n -P show cluster "$CLUSTER" format=controlhost) || return 1
    if [[ -z $host ]]; then
        echo "slurmdbd has no control host for cluster $CLUSTER yet"
        return 1
    fi
}

controller_works() {
    client scontrol ping && client squeue -h >/dev/null
}

node_state() {
    client sinfo -h -N -n "$NODE" -o %T
}

node_ready() {
    local state
    state=$(node_state) || return 1
    if [[ ! $state =~ $READY_NODE_STATES ]]; then
        echo "node $NODE is in state '$state'"
        return 1
    fi
}

sacct_works() {
    client sacct -n -X -o jobid >/dev/null
}

all_daemons_running() {
    local daemon
    for daemon in "${DAEMONS[@]}"; do
        if [[ $daemon == munged ]]; then
            # A munged that serves the socket but was started by someone else
            # also counts: start_munged uses it instead of starting another.
            munge_works || return 1
        else
            is_running "$daemon" || return 1
        fi
    done
}

is_healthy() {
    {
        all_daemons_running && node_ready && sacct_works && sacctmgr_works
    } >/dev/null 2>&1
}

# ---------------------------------------------------------------- configs

# Print the node's hardware as "CPUS SOCKETS CORES_PER_SOCKET THREADS_PER_CORE
# MEMORY_MB", with the memory at 90% of what slurmd detects because declaring
# more than the node has drains it.
node_hardware() {
    local line field key value cpus=1 sockets=1 cores=1 threads=1 memory=1024
    line=$(slurmd -C | head -n 1)
    for field in $line; do
        key=${field%%=*}
        value=${field#*=}
        case $key in
            CPUs) cpus=$value ;;
            SocketsPerBoard) sockets=$value ;;
            CoresPerSocket) cores=$value ;;
            ThreadsPerCore) threads=$value ;;
            RealMemory) memory=$value ;;
        esac
    done
    memory=$((memory * 9 / 10))

    local wanted=${WALL_SLURM_CPUS:-}
    if [[ -z $wanted ]] && ((cpus < MIN_CPUS)); then
        wanted=$MIN_CPUS
    fi
    if [[ -n $wanted ]]; then
        [[ $wanted =~ ^[1-9][0-9]*$ ]] || die "WALL_SLURM_CPUS must be a positive integer, got '$wanted'"
        # Declare one socket of single-threaded cores, so that the counts agree.
        cpus=$wanted sockets=1 cores=$wanted threads=1
    fi
    echo "$cpus $sockets $cores $threads $memory"
}

# Fail rather than overwrite a config that this script did not write, or one
# that belongs to a cluster from another state dir that is still running.
check_config_owner() {
    local owner_line other_dir other_status
    [[ -e $SLURM_CONF_FILE ]] || return 0
    owner_line=$(grep -m 1 "^$CONF_MARKER " "$SLURM_CONF_FILE" || true)
    if [[ -z $owner_line ]]; then
        die "$SLURM_CONF_FILE exists and was not written by this script. Move it away and retry."
    fi
    other_dir=${owner_line#"$CONF_MARKER "}
    [[ $other_dir != "$STATE_DIR" ]] || return 0
    other_status=$(WALL_SLURM_DIR=$other_dir bash "${BASH_SOURCE[0]}" status 2>/dev/null || true)
    if [[ $other_status == *": running, pid"* ]]; then
        die "a cluster from state dir $other_dir is running. Stop it with WALL_SLURM_DIR=$other_dir bash ${BASH_SOURCE[0]} stop"
    fi
}

write_configs() {
    local cpus sockets cores threads memory
    read -r cpus sockets cores threads memory < <(node_hardware)

    mkdir -p "$CONF_DIR"
    # slurmdbd exits at start-up unless its config is owned by SlurmUser and
    # has mode 600.
    (
        umask 077
        cat >"$DBD_CONF_FILE" <<EOF
$CONF_MARKER $STATE_DIR
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
DebugLevel=info
PidFile=$RUN_DIR/slurmdbd.self.pid
StorageType=accounting_storage/mysql
# Host localhost makes the client library use the Unix socket that
# MYSQL_UNIX_PORT names, because MariaDB runs with --skip-networking.
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
EOF
    )
    chown root:root "$DBD_CONF_FILE"
    chmod 600 "$DBD_CONF_FILE"

    cat >"$SLURM_CONF_FILE" <<EOF
$CONF_MARKER $STATE_DIR
ClusterName=$CLUSTER
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
# Short credential lifetime: a requeued job runs again after about 11 s
# (measured), instead of about 120 s.
AuthInfo=cred_expire=10
CredType=cred/munge
StateSaveLocation=$STATE_DIR/slurmctld
SlurmdSpoolDir=$STATE_DIR/slurmd
SlurmctldPidFile=$RUN_DIR/slurmctld.self.pid
SlurmdPidFile=$RUN_DIR/slurmd.self.pid
SlurmctldDebug=info
SlurmdDebug=info
MpiDefault=none
# No mail is sent: the default MailProg, /bin/mail, is not installed.
MailProg=/bin/true
SwitchType=switch/none
# No cgroups: track job processes by parent pid and bind no tasks.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,bf_interval=1,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# Trust the CPU count below even where it exceeds the hardware, instead of
# draining the node.
SlurmdParameters=config_overrides
ReturnToService=2
# Keep finished jobs in squeue and scontrol for 5 minutes.
MinJobAge=300
# slurmctld checks time limits about every 30 s, so a job ends up to 30 s after
# its limit (a 1-minute job ended after 86 s). It gets SIGKILL KillWait seconds
# after SIGTERM.
OverTimeLimit=0
KillWait=2
InactiveLimit=0
JobRequeue=1
MaxArraySize=1001
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus Boards=1 SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads RealMemory=$memory State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    chmod 644 "$SLURM_CONF_FILE"
}

# ---------------------------------------------------------------- daemons

start_munged() {
    if is_running munged; then
        return 0
    fi
    if munge_works >/dev/null 2>&1; then
        log "using the munged that already serves $MUNGE_SOCKET_DIR, which stop leaves running"
        rm -f "$(pid_file munged)"
        return 0
    fi

    if [[ ! -s $MUNGE_KEY ]]; then
        log "creating $MUNGE_KEY"
        mkdir -p "${MUNGE_KEY%/*}"
        mungekey --create --keyfile="$MUNGE_KEY"
    fi
    chown munge:munge "${MUNGE_KEY%/*}" "$MUNGE_KEY"
    chmod 700 "${MUNGE_KEY%/*}"
    chmod 600 "$MUNGE_KEY"
    mkdir -p "$MUNGE_SOCKET_DIR" /var/lib/munge
    chown munge:munge "$MUNGE_SOCKET_DIR" /var/lib/munge
    chmod 755 "$MUNGE_SOCKET_DIR"

    # munged runs as the munge user, as the Debian service does, because that
    # user owns the key, the seed file and the socket directory. setpriv execs
    # munged, so the recorded pid stays munged's.
    start_daemon munged setpriv --reuid=munge --regid=munge --init-groups munged --foreground
    wait_for munged "the munge socket" munge_works
}

start_mariadbd() {
    if ! is_running mariadbd; then
        if [[ ! -d $MYSQL_DATA_DIR/mysql ]]; then
            log "creating the MariaDB data directory $MYSQL_DATA_DIR"
            rm -rf "$MYSQL_DATA_DIR"
            mkdir -p "$MYSQL_DATA_DIR"
            # Socket authentication: the OS user root logs in as the MariaDB
            # user root without a password, which is how slurmdbd connects.
            # The server runs as root too, so that it can use a state dir that
            # the mysql user cannot reach. It accepts no TCP connections.
            if ! mariadb-install-db --no-defaults --user=root --datadir="$MYSQL_DATA_DIR" \
                --auth-root-authentication-method=socket --skip-test-db \
                >>"$(log_file mariadbd)" 2>&1; then
                fail_daemon mariadbd "data directory set-up failed"
            fi
        fi
        # slurmdbd logs an error at start-up while innodb_lock_wait_timeout is below 900.
        start_daemon mariadbd mariadbd --no-defaults --user=root \
            --datadir="$MYSQL_DATA_DIR" --socket="$MYSQL_SOCKET" \
            --pid-file="$RUN_DIR/mariadbd.self.pid" --skip-networking \
            --innodb-lock-wait-timeout=900
    fi
    wait_for mariadbd "the MariaDB socket $MYSQL_SOCKET" mysql_works
}

start_slurmdbd() {
    if ! is_running slurmdbd; then
        require_free_port slurmdbd 6819
        start_daemon slurmdbd env MYSQL_UNIX_PORT="$MYSQL_SOCKET" slurmdbd -D
    fi
    wait_for slurmdbd "sacctmgr to reach slurmdbd" sacctmgr_works
}

# Create the cluster, an account and root's association, so that jobs have an
# account to be charged to.
add_accounting_records() {
    local existing
    existing=$(client sacctmgr -n -P show cluster "$CLUSTER" format=cluster) ||
        die "sacctmgr could not list clusters"
    if [[ -z $existing ]]; then
        client sacctmgr -i add cluster "$CLUSTER" >/dev/null ||
            die "sacctmgr could not add cluster $CLUSTER"
    fi

    existing=$(client sacctmgr -n -P show account "$ACCOUNT" format=account) ||
        die "sacctmgr could not list accounts"
    if [[ -z $existing ]]; then
        client sacctmgr -i add account "$ACCOUNT" \
            cluster="$CLUSTER" description="wall tests" organization=wall >/dev/null ||
            die "sacctmgr could not add account $ACCOUNT"
    fi

    existing=$(client sacctmgr -n -P show association \
        cluster="$CLUSTER" account="$ACCOUNT" user=root format=user) ||
        die "sacctmgr could not list associations"
    if [[ -z $existing ]]; then
        client sacctmgr -i add user root \
            account="$ACCOUNT" cluster="$CLUSTER" defaultaccount="$ACCOUNT" >/dev/null ||
            die "sacctmgr could not add user root to account $ACCOUNT"
    fi
}

start_slurmctld() {
    if ! is_running slurmctld; then
        mkdir -p "$STATE_DIR/slurmctld"
        require_free_port slurmctld 6817
        # -i: start even if a state file from an earlier run is damaged.
        start_daemon slurmctld slurmctld -D -i
    fi
    wait_for slurmctld "slurmctld to answer" controller_works
    wait_for slurmctld "slurmctld to register with slurmdbd" cluster_registered
}

start_slurmd() {
    if ! is_running slurmd; then
        mkdir -p "$STATE_DIR/slurmd"
        require_free_port slurmd 6818
        start_daemon slurmd slurmd -D -N "$NODE"
    fi
    wait_for slurmd "node $NODE to become idle" node_ready
}

cmd_start() {
    local started=$SECONDS daemon
    if is_healthy; then
        log "cluster from $STATE_DIR is already up"
        return 0
    fi

    cmd_install
    check_config_owner
    mkdir -p "$LOG_DIR" "$RUN_DIR"
    # slurmstepd runs a batch script from SlurmdSpoolDir as the job's user, so
    # every user must be able to enter the state dir.
    chmod 755 "$STATE_DIR"
    write_configs

    start_munged
    start_mariadbd
    start_slurmdbd
    add_accounting_records
    start_slurmctld
    start_slurmd
    wait_for slurmdbd "sacct to answer" sacct_works

    # A daemon that fails late, for example on bind, may have exited after its
    # own check passed.
    for daemon in "${DAEMONS[@]}"; do
        if [[ $daemon != munged ]] && ! is_running "$daemon"; then
            fail_daemon "$daemon" "exited during start-up"
        fi
    done

    log "cluster from $STATE_DIR is up after $((SECONDS - started))s: partition $PARTITION, node $NODE, $(sinfo -h -N -n "$NODE" -o '%c CPUs')"
}

# ---------------------------------------------------------------- stop

# Cancel all jobs, so that no job process outlives slurmd.
cancel_jobs() {
    local deadline
    is_running slurmctld || return 0
    [[ -n $(client squeue -h -o %i 2>/dev/null || true) ]] || return 0

    log "cancelling all jobs"
    client scancel --partition="$PARTITION" || true
    deadline=$((SECONDS + 20))
    while [[ -n $(client squeue -h -t running,completing -o %i 2>/dev/null || true) ]]; do
        if ((SECONDS >= deadline)); then
            log "jobs still running after 20s, stopping the daemons anyway"
            return 0
        fi
        sleep 0.5
    done
}

stop_daemon() {
    local daemon=$1 pid deadline
    if ! pid=$(running_pid "$daemon"); then
        rm -f "$(pid_file "$daemon")"
        return 0
    fi

    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 30))
    while [[ -e /proc/$pid ]] && is_running "$daemon"; do
        if ((SECONDS >= deadline)); then
            log "$daemon (pid $pid) ignored SIGTERM for 30s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 1
            break
        fi
        sleep 0.2
    done
    rm -f "$(pid_file "$daemon")"
    log "stopped $daemon (pid $pid)"
}

cmd_stop() {
    local index
    cancel_jobs
    for ((index = ${#DAEMONS[@]} - 1; index >= 0; index--)); do
        stop_daemon "${DAEMONS[index]}"
    done
}

# ---------------------------------------------------------------- status

# Print each daemon's state and whether the cluster is up. Exit 0 if it is up,
# 3 if not (the LSB status code for "not running").
cmd_status() {
    local daemon pid
    for daemon in "${DAEMONS[@]}"; do
        if pid=$(running_pid "$daemon"); then
            echo "$daemon: running, pid $pid"
        elif [[ $daemon == munged ]] && munge_works >/dev/null 2>&1; then
            echo "$daemon: running, not started by this script"
        else
            echo "$daemon: not running"
        fi
    done
    if is_running slurmctld; then
        echo "node $NODE: $(node_state 2>&1 || true)"
    fi
    if is_healthy; then
        echo "cluster from $STATE_DIR: up"
        return 0
    fi
    echo "cluster from $STATE_DIR: down"
    return 3
}

cmd_env() {
    # The clients read this path by default. Exporting it overrides a SLURM_CONF
    # in the caller's environment that points elsewhere.
    echo "export SLURM_CONF=$SLURM_CONF_FILE"
}

usage() {
    cat <<EOF
Usage: $0 COMMAND

Commands:
  install  install munge, SLURM and MariaDB with apt-get if any is missing
  start    start the cluster unless it is already up; waits up to
           \$WALL_SLURM_TIMEOUT seconds (default 60) for each step
  stop     cancel all jobs and stop the daemons this script started
  status   print the state of each daemon; exit 0 if the cluster is up, 3 if not
  env      print the shell lines that point SLURM clients at this cluster

State directory: \$WALL_SLURM_DIR (default /tmp/wall-slurm), now $STATE_DIR
EOF
}

require_root() {
    if [[ $(id -u) != 0 ]]; then
        die "$1 must run as root"
    fi
}

# Hold LOCK_FILE on fd 9 until the script exits.
take_lock() {
    exec 9>"$LOCK_FILE"
    if ! flock -w "$LOCK_TIMEOUT" 9; then
        die "timed out after ${LOCK_TIMEOUT}s waiting for $LOCK_FILE, held by another start or stop"
    fi
}

main() {
    if (($# != 1)); then
        usage >&2
        exit 2
    fi
    case $1 in
        install)
            require_root "$1"
            take_lock
            cmd_install
            ;;
        start)
            require_root "$1"
            take_lock
            cmd_start
            ;;
        stop)
            require_root "$1"
            take_lock
            cmd_stop
            ;;
        status)
            require_root "$1"
            cmd_status
            ;;
        env) cmd_env ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
