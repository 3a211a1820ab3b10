# bench/lib/bench.sh — helpers shared by the bench/*/run scripts: free ports and waiting for a
# server, CPU and memory accounting of a server's process tree, and waiting while another
# benchmark runs. Sourced (bash); the caller sets BENCH_NAME (its folder under bench/), DIR (its
# temporary directory) and WAIT_MAX (seconds it may wait for other benchmarks, in all), and
# defines die().

HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

free_port() { # a loopback port nothing listens on
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # port pid logfile: until something accepts on 127.0.0.1:port
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; die "server exited at start"; }
        sleep 0.1
    done
    tail -20 "$3" >&2
    die "nothing listens on 127.0.0.1:$1 after 10 s"
}

wait_socket() { # path pid logfile
    for _ in $(seq 100); do
        [ -S "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || { tail -20 "$3" >&2; die "server exited at start"; }
        sleep 0.1
    done
    tail -20 "$3" >&2
    die "no socket $1 after 10 s"
}

tree_pids() { # process $1 and its descendants (bash builtins only: it runs while measuring)
    local -a todo=("$1") out=() kids
    local p f
    while [ ${#todo[@]} -gt 0 ]; do
        p=${todo[0]}
        todo=("${todo[@]:1}")
        out+=("$p")
        for f in /proc/"$p"/task/*/children; do
            [ -r "$f" ] || continue
            kids=()
            read -r -a kids 2>/dev/null <"$f" || true
            todo+=("${kids[@]}")
        done
    done
    echo "${out[@]}"
}

tree_ticks() { # CPU ticks of process $1 and its descendants, live and reaped
    local p t=0 f
    for p in $(tree_pids "$1"); do
        read -r f 2>/dev/null </proc/"$p"/stat || continue
        read -r -a f <<<"${f##*) }"
        t=$((t + f[11] + f[12] + f[13] + f[14]))
    done
    echo "$t"
}

busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# Samples the memory of process $1's tree every 0.5 s until the file $2 exists, then writes
# "peak_rss_kb peak_pss_kb peak_procs" to $3 (RSS counts shared pages once per process; PSS
# shares them out). Run it in the background.
mem_sampler() { # server_pid stopfile outfile
    local maxr=0 maxp=0 maxn=0 r p n k v _ pid
    while [ ! -e "$2" ]; do
        r=0 p=0 n=0
        for pid in $(tree_pids "$1"); do
            [ -r /proc/"$pid"/smaps_rollup ] || continue
            n=$((n + 1))
            { while read -r k v _; do
                case $k in Rss:) r=$((r + v)) ;; Pss:) p=$((p + v)) ;; esac
            done </proc/"$pid"/smaps_rollup; } 2>/dev/null || true
        done
        [ "$r" -gt "$maxr" ] && maxr=$r
        [ "$p" -gt "$maxp" ] && maxp=$p
        [ "$n" -gt "$maxn" ] && maxn=$n
        sleep 0.5
    done
    echo "$maxr $maxp $maxn" >"$3"
}

# other benchmarks on this machine: any bench/*/run but this one, and the load generators they
# start (lmtp-load, imap-load, pop3-load, login-load, idle-load, imap-hold); "pid name" lines
others() {
    pgrep -af '^(/usr)?(/bin/)?bash [^ ]*bench/[a-z0-9_-]+/run|^[^ ]*/[a-z0-9]+-(load|hold) ' |
        grep -v -e "bench/$BENCH_NAME/run" -e "^$$ " -e "$DIR/" |
        sed -E 's,^([0-9]+) .*bench/([a-z0-9_-]+)/run.*,\1 \2,; s,^([0-9]+) [^ ]*/([a-z0-9-]+) .*,\1 \2,' || true
}
others_names() { others | awk '{ print $2 }' | sort -u | paste -sd, -; }

WAIT_LEFT=${WAIT_MAX:-900}
WAITED=0
# Before a measurement: while another benchmark runs, wait, as long as the budget of WAIT_MAX
# seconds (shared by the whole run) lasts.
wait_quiet() {
    local names
    names=$(others_names)
    [ -n "$names" ] || return 0
    [ "$WAIT_LEFT" -gt 0 ] || return 0
    echo "== another benchmark is running ($names); waiting up to $WAIT_LEFT s"
    while [ -n "$(others)" ] && [ "$WAIT_LEFT" -gt 0 ]; do
        sleep 10
        WAIT_LEFT=$((WAIT_LEFT - 10)) WAITED=$((WAITED + 10))
    done
    names=$(others_names)
    echo "== ${names:+still running: $names; }waited $WAITED s in all"
}

# other%: the share of the machine's CPU used by neither the server nor the client while a
# measurement ran: other_pct SERVER_TICKS BUSY_TICKS CLIENT_CPU_S WALL_S
other_pct() {
    awk -v srv="$1" -v busy="$2" -v cl="$3" -v w="$4" -v hz="$HZ" -v ncpu="$NCPU" 'BEGIN {
        o = (busy - srv - cl * hz) / (w * hz * ncpu) * 100; printf "%.0f", (o < 0 ? 0 : o) }'
}

# a self-signed ECDSA certificate for 127.0.0.1 / localhost: make_cert DIR (writes key.pem,
# cert.pem, readable by the servers' users)
make_cert() {
    certtool --generate-privkey --key-type=ecdsa --outfile "$1/key.pem" >/dev/null 2>&1 ||
        die "certtool failed (gnutls-bin missing?)"
    cat >"$1/cert.tmpl" <<EOF
cn = "bench.test"
dns_name = "localhost"
ip_address = "127.0.0.1"
expiration_days = 2
tls_www_server
EOF
    certtool --generate-self-signed --load-privkey "$1/key.pem" --template "$1/cert.tmpl" \
        --outfile "$1/cert.pem" >/dev/null 2>&1 || die "certtool failed"
    chmod 644 "$1/key.pem" "$1/cert.pem"
}
