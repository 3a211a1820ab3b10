/* The start-up sequence every daemon shares (design.md): config -> sockets -> privileged opens
 * -> unprivileged user -> worker processes -> READY=1 -> event loop; SIGHUP reloads the
 * REFRESHABLE parameters, SIGTERM drains. */
#include "server-private.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "banner.h"
#include "halyard-build.h"

#define SERVER_DRAIN_SECONDS 10 /* a stopping server waits this long for replies in flight */
#define SERVER_REFUSING_MAX  64 /* connections being told "too many" at once */

static char *server_param(const struct server *s, char *buf, size_t size, const char *suffix)
{
    snprintf(buf, size, "service.%s.%s", s->proto->service, suffix);
    return buf;
}

static long server_int(const struct server *s, const struct conf *conf, const char *suffix)
{
    char name[128];

    return conf_int(conf, server_param(s, name, sizeof(name), suffix));
}

/* Parses service.<svc>.domainallowed / domainnotallowed. msg.conf was validated against the
 * table (which runs the same parser), so a failure here is out of memory or a table bug. */
static int server_load_filters(struct server *s)
{
    struct access_rules *sets[2] = {NULL, NULL};
    static const char *const suffixes[2] = {"domainallowed", "domainnotallowed"};
    char name[128];

    for (int i = 0; i < 2; i++) {
        struct access_error err;
        const char *text;
        /* lmtpd and enpd have no such parameters: their access is the socket's */
        if (param_find(server_param(s, name, sizeof(name), suffixes[i])) == NULL)
            continue;
        text = conf_str(s->conf, name);
        if (access_rules_parse(text, strlen(text), ACCESS_SYNTAX_FILTER, i == 0, &sets[i], &err) <
            0) {
            log_err("%s: %s at byte %zu%s", name, err.why, err.offset,
                    s->event != NULL ? "; keeping the running filters" : "");
            access_rules_free(&sets[0]);
            return -1;
        }
    }
    access_rules_free(&s->allowed);
    access_rules_free(&s->denied);
    s->allowed = sets[0];
    s->denied = sets[1];
    return 0;
}

bool server_filters_need_name(const struct server *s)
{
    return access_rules_need_name(s->allowed) || access_rules_need_name(s->denied);
}

bool server_filters_allow(struct server *s, struct conn *c, struct access_peer *peer)
{
    const struct access_rules *sets[2] = {s->allowed, s->denied};
    struct access_result res;
    char addr[64];

    if (access_rules_count(s->allowed) == 0 && access_rules_count(s->denied) == 0)
        return true;
    access_check(sets, 2, conn_service(c), peer, NULL, &res);
    if (res.verdict == ACCESS_ALLOW)
        return true;
    access_peer_addr_text(peer, addr, sizeof(addr));
    if (res.rule_text != NULL)
        conn_notice(c,
                    "connection from %s%s%s refused by service.%s.domainnotallowed filter %u "
                    "\"%.*s\"",
                    addr, peer->name_state == ACCESS_NAME_OK ? " " : "",
                    peer->name_state == ACCESS_NAME_OK ? peer->name : "", s->proto->service,
                    res.rule_index, (int)res.rule_len, res.rule_text);
    else
        conn_notice(c,
                    "connection from %s%s%s refused: no service.%s.domainallowed filter "
                    "matches %s",
                    addr, peer->name_state == ACCESS_NAME_OK ? " " : "",
                    peer->name_state == ACCESS_NAME_OK ? peer->name : "", s->proto->service,
                    conn_service(c));
    return false;
}

/* Reads the REFRESHABLE settings from s->conf. */
static int server_apply_refreshable(struct server *s)
{
    char name[128];
    const char *host = conf_str(s->conf, "local.hostname");
    char *banner;

    free(s->hostname);
    if (*host != '\0') {
        s->hostname = strdup(host);
    } else {
        char buf[256] = "localhost";
        gethostname(buf, sizeof(buf) - 1);
        s->hostname = strdup(buf);
    }
    banner = banner_expand(conf_str(s->conf, server_param(s, name, sizeof(name), "banner")),
                           s->hostname ? s->hostname : "localhost", s->proto->banner_tag,
                           HALYARD_PRODUCT, HALYARD_VERSION);
    if (s->hostname == NULL || banner == NULL)
        return -ENOMEM;
    free(s->banner);
    s->banner = banner;
    s->idle_usec = (uint64_t)server_int(s, s->conf, "idletimeout") * 60 * 1000000ULL;
    s->login_idle_usec = s->proto->has_login_timeout
                             ? (uint64_t)server_int(s, s->conf, "loginidletimeout") * 1000000ULL
                             : s->idle_usec;
    if (server_load_filters(s) < 0)
        return -1;
    if (s->proto->on_config != NULL && s->proto->on_config(s, s->event != NULL) < 0)
        return -1;
    return 0;
}

static int server_load_conf(struct server *s)
{
    char *err = NULL;

    if (conf_load(s->conf_path, &s->conf, &err) < 0) {
        log_err("%s", err ? err : "cannot read configuration");
        free(err);
        return -1;
    }
    s->maxsessions = server_int(s, s->conf, "maxsessions");
    s->maxthreads = server_int(s, s->conf, "maxthreads");
    s->numprocesses = server_int(s, s->conf, "numprocesses");
    return 0;
}

static void server_free_names(char **names, int n)
{
    for (int i = 0; names != NULL && i < n; i++)
        free(names[i]);
    free(names);
}

/* Takes the sockets systemd (or systemd-socket-activate) passed; their names decide TLS. */
static int server_take_sockets(struct server *s)
{
    char **names = NULL;
    int n = sd_listen_fds_with_names(1, &names);

    if (n <= 0) {
        log_err("no listening sockets were passed (start through systemd or "
                "systemd-socket-activate with --fdname=%s)",
                s->proto->fd_plain);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        const char *name = names != NULL && names[i] != NULL ? names[i] : "unknown";
        bool tls = s->proto->fd_tls != NULL && strcmp(name, s->proto->fd_tls) == 0;

        if (!tls && strcmp(name, s->proto->fd_plain) != 0) {
            log_err("socket %d is named \"%s\"; this daemon serves \"%s\"%s%s", fd, name,
                    s->proto->fd_plain, s->proto->fd_tls ? " and " : "",
                    s->proto->fd_tls ? s->proto->fd_tls : "");
            server_free_names(names, n);
            return -1;
        }
        if (s->nlisteners == SERVER_MAX_LISTENERS) {
            log_err("too many listening sockets (at most %d)", SERVER_MAX_LISTENERS);
            server_free_names(names, n);
            return -1;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        s->listeners[s->nlisteners++] = (struct listener){.srv = s, .fd = fd, .tls = tls};
    }
    server_free_names(names, n);
    return 0;
}

/* TLS credentials are read while still privileged. A TLS socket without them is a broken
 * environment, reported at start rather than at the first client. */
static int server_open_tls(struct server *s)
{
    const char *cert = conf_str(s->conf, "local.tls.certfile");
    const char *key = conf_str(s->conf, "local.tls.keyfile");
    bool need = false;
    char *err = NULL;

    for (unsigned i = 0; i < s->nlisteners; i++)
        need |= s->listeners[i].tls;
    if (*cert == '\0' || *key == '\0') {
        if (need) {
            log_err("a %s socket was passed but local.tls.certfile / local.tls.keyfile are not "
                    "set",
                    s->proto->fd_tls);
            return -1;
        }
        return 0;
    }
    if (tls_ctx_new(cert, key, conf_str(s->conf, "local.tls.cafile"),
                    conf_str(s->conf, "local.tls.priority"), &s->tls, &err) < 0) {
        log_err("%s", err ? err : "TLS set-up failed");
        free(err);
        return -1;
    }
    return 0;
}

/* Runs as local.serveruser when started as root; units start us as that user already. */
static int server_drop_privileges(struct server *s)
{
    const char *user = conf_str(s->conf, "local.serveruser");
    struct passwd *pw;

    if (geteuid() != 0)
        return 0;
    pw = getpwnam(user);
    if (pw == NULL) {
        log_err("local.serveruser \"%s\" does not exist; refusing to run as root", user);
        return -1;
    }
    if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
        log_err("cannot become %s: %s", user, strerror(errno));
        return -1;
    }
    return 0;
}

/* Every session needs a descriptor: raise the soft limit toward what maxsessions implies. */
static void server_raise_nofile(const struct server *s)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)s->maxsessions + SERVER_REFUSING_MAX + 64;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want)
        log_warning("file descriptor limit %llu is below what service.%s.maxsessions needs",
                    (unsigned long long)rl.rlim_cur, s->proto->service);
}

static int server_on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
    struct listener *l = userdata;
    struct server *s = l->srv;

    for (int i = 0; i < 64 && !s->stopping; i++) {
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_warning("accept: %s", strerror(errno));
            if (errno == EMFILE || errno == ENFILE)
                log_err("out of file descriptors: new connections wait in the backlog");
            break;
        }
        if ((long)s->sessions < s->maxsessions) {
            conn_new(s, cfd, l->tls, false);
            continue;
        }
        if (s->refusing >= SERVER_REFUSING_MAX) {
            log_warning("service.%s.maxsessions (%ld) reached; closing a connection unanswered",
                        s->proto->service, s->maxsessions);
            close(cfd);
            continue;
        }
        conn_new(s, cfd, l->tls, true);
    }
    return 0;
}

void server_exit_if_drained(struct server *s)
{
    if (s->stopping && s->conns == NULL && (s->pool == NULL || pool_pending(s->pool) == 0))
        sd_event_exit(s->event, 0);
}

static int server_on_drain_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
    struct server *s = userdata;
    unsigned left = 0;

    for (struct conn *c = s->conns; c != NULL; c = conn_next(c))
        left++;
    if (left > 0)
        log_warning("drain time over: dropping %u connections", left);
    /* a connection with a job in flight stays until the pool is drained after the loop */
    for (struct conn *c = s->conns, *next; c != NULL; c = next) {
        next = conn_next(c);
        conn_abort(c);
    }
    sd_event_exit(s->event, 0);
    return 0;
}

static int server_on_term(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
    struct server *s = userdata;

    if (s->stopping)
        return 0;
    s->stopping = true;
    sd_notify(0, "STOPPING=1");
    log_info("stopping: %u connections to drain", s->sessions);
    for (unsigned i = 0; i < s->nlisteners; i++)
        sd_event_source_set_enabled(s->listeners[i].source, SD_EVENT_OFF);
    struct conn *c = s->conns;
    while (c != NULL) {
        struct conn *next = conn_next(c); /* conn_shutdown may free c */
        conn_shutdown(c);
        c = next;
    }
    sd_event_add_time_relative(s->event, &s->drain_timer, CLOCK_MONOTONIC,
                               SERVER_DRAIN_SECONDS * 1000000ULL, 0, server_on_drain_timer, s);
    server_exit_if_drained(s);
    return 0;
}

static int server_on_hup(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
    struct server *s = userdata;
    struct conf *old = s->conf;
    char *err = NULL;

    sd_notify(0, "RELOADING=1");
    s->conf = NULL;
    if (conf_load(s->conf_path, &s->conf, &err) < 0) {
        log_err("reload failed, keeping the running configuration: %s", err ? err : "?");
        free(err);
        s->conf = old;
    } else {
        conf_free(&old);
        if (server_int(s, s->conf, "maxsessions") != s->maxsessions ||
            server_int(s, s->conf, "maxthreads") != s->maxthreads ||
            server_int(s, s->conf, "numprocesses") != s->numprocesses)
            log_warning("NOT REFRESHABLE parameters changed; they apply after a restart");
        server_apply_refreshable(s);
        log_info("configuration reloaded");
    }
    sd_notify(0, "READY=1");
    return 0;
}

/* One process's event loop over the shared listening sockets. */
static int server_run_loop(struct server *s)
{
    int r = sd_event_new(&s->event);

    if (r < 0) {
        log_err("sd_event_new: %s", strerror(-r));
        return 1;
    }
    r = pool_new(s->event, (unsigned)s->maxthreads, &s->pool);
    if (r < 0) {
        log_err("thread pool: %s", strerror(-r));
        return 1;
    }
    sd_event_add_signal(s->event, NULL, SIGTERM, server_on_term, s);
    sd_event_add_signal(s->event, NULL, SIGINT, server_on_term, s);
    sd_event_add_signal(s->event, NULL, SIGHUP, server_on_hup, s);
    for (unsigned i = 0; i < s->nlisteners; i++) {
        struct listener *l = &s->listeners[i];
        r = sd_event_add_io(s->event, &l->source, l->fd, EPOLLIN, server_on_accept, l);
        if (r < 0) {
            log_err("cannot watch socket %d: %s", l->fd, strerror(-r));
            return 1;
        }
    }
    r = sd_event_loop(s->event);
    /* jobs finish first (their completions may still write); then every connection goes */
    pool_free(&s->pool);
    while (s->conns != NULL)
        conn_abort(s->conns);
    for (unsigned i = 0; i < s->nlisteners; i++)
        sd_event_source_disable_unref(s->listeners[i].source);
    sd_event_source_disable_unref(s->drain_timer);
    s->event = sd_event_unref(s->event);
    return r < 0 ? 1 : 0;
}

/* --- numprocesses > 1: a supervisor forks the workers, forwards signals, restarts crashes. */

struct supervisor {
    struct server *srv;
    pid_t *pids;
    long n;
    bool stopping;
    sd_event *event;
};

static pid_t supervisor_spawn(struct supervisor *sv)
{
    pid_t pid = fork();

    if (pid == 0) {
        /* the supervisor's sd-event belongs to the parent; the worker builds its own */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        _exit(server_run_loop(sv->srv));
    }
    if (pid < 0)
        log_err("fork: %s", strerror(errno));
    return pid;
}

static void supervisor_signal_all(struct supervisor *sv, int sig)
{
    for (long i = 0; i < sv->n; i++)
        if (sv->pids[i] > 0)
            kill(sv->pids[i], sig);
}

static int supervisor_on_child(sd_event_source *src, const struct signalfd_siginfo *si,
                               void *userdata)
{
    struct supervisor *sv = userdata;
    int status;
    pid_t pid;
    long alive = 0;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (long i = 0; i < sv->n; i++) {
            if (sv->pids[i] != pid)
                continue;
            sv->pids[i] = 0;
            if (!sv->stopping) {
                log_err("worker %d ended (%s %d); starting another", (int)pid,
                        WIFSIGNALED(status) ? "signal" : "status",
                        WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
                usleep(100000); /* a worker that dies at once must not spin the supervisor */
                sv->pids[i] = supervisor_spawn(sv);
            }
        }
    }
    for (long i = 0; i < sv->n; i++)
        alive += sv->pids[i] > 0;
    if (sv->stopping && alive == 0)
        sd_event_exit(sv->event, 0);
    return 0;
}

static int supervisor_on_term(sd_event_source *src, const struct signalfd_siginfo *si,
                              void *userdata)
{
    struct supervisor *sv = userdata;

    if (!sv->stopping) {
        sv->stopping = true;
        sd_notify(0, "STOPPING=1");
        supervisor_signal_all(sv, SIGTERM);
    }
    return 0;
}

static int supervisor_on_hup(sd_event_source *src, const struct signalfd_siginfo *si,
                             void *userdata)
{
    struct supervisor *sv = userdata;
    struct conf *check = NULL;
    char *err = NULL;

    sd_notify(0, "RELOADING=1");
    if (conf_load(sv->srv->conf_path, &check, &err) < 0) {
        log_err("reload refused, workers keep the running configuration: %s", err ? err : "?");
        free(err);
    } else {
        conf_free(&check);
        supervisor_signal_all(sv, SIGHUP);
    }
    sd_notify(0, "READY=1");
    return 0;
}

static int server_run_supervisor(struct server *s)
{
    struct supervisor sv = {.srv = s, .n = s->numprocesses};
    int r;

    sv.pids = calloc((size_t)sv.n, sizeof(*sv.pids));
    if (sv.pids == NULL || sd_event_new(&sv.event) < 0)
        return 1;
    sd_event_add_signal(sv.event, NULL, SIGCHLD, supervisor_on_child, &sv);
    sd_event_add_signal(sv.event, NULL, SIGTERM, supervisor_on_term, &sv);
    sd_event_add_signal(sv.event, NULL, SIGINT, supervisor_on_term, &sv);
    sd_event_add_signal(sv.event, NULL, SIGHUP, supervisor_on_hup, &sv);
    for (long i = 0; i < sv.n; i++)
        sv.pids[i] = supervisor_spawn(&sv);
    log_info("%ld worker processes started", sv.n);
    sd_notify(0, "READY=1");
    r = sd_event_loop(sv.event);
    sd_event_unref(sv.event);
    free(sv.pids);
    return r < 0 ? 1 : 0;
}

/* --- entry point --- */

const struct conf *server_conf(const struct server *s)
{
    return s->conf;
}

const struct proto *server_proto(const struct server *s)
{
    return s->proto;
}

const char *server_banner(const struct server *s)
{
    return s->banner;
}

const char *server_hostname(const struct server *s)
{
    return s->hostname;
}

bool server_tls_configured(const struct server *s)
{
    return s->tls != NULL;
}

unsigned server_sessions(const struct server *s)
{
    return s->sessions;
}

static void server_usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-f msg.conf]\n", prog);
}

int server_main(const struct proto *proto, int argc, char **argv)
{
    struct server s = {.proto = proto, .conf_path = CONF_DEFAULT_PATH};
    const char *ident = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    int opt, rc;

    log_init(ident);
    while ((opt = getopt(argc, argv, "f:h")) != -1) {
        switch (opt) {
        case 'f':
            s.conf_path = optarg;
            break;
        default:
            server_usage(argv[0]);
            return 2;
        }
    }
    if (optind != argc) {
        server_usage(argv[0]);
        return 2;
    }
    /* signals are taken through sd-event (signalfd): block them before any thread exists */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (server_load_conf(&s) < 0 || server_take_sockets(&s) < 0 || server_open_tls(&s) < 0 ||
        server_drop_privileges(&s) < 0 || server_apply_refreshable(&s) < 0) {
        rc = 1;
        goto out;
    }
    server_raise_nofile(&s);
    log_info("%s ready: %u sockets, maxsessions %ld, maxthreads %ld, numprocesses %ld%s",
             proto->service, s.nlisteners, s.maxsessions, s.maxthreads, s.numprocesses,
             s.tls ? ", TLS configured" : "");
    if (s.numprocesses > 1) {
        rc = server_run_supervisor(&s);
    } else {
        sd_notify(0, "READY=1");
        rc = server_run_loop(&s);
    }
out:
    tls_ctx_free(&s.tls);
    access_rules_free(&s.allowed);
    access_rules_free(&s.denied);
    conf_free(&s.conf);
    free(s.banner);
    free(s.hostname);
    return rc;
}

struct sd_event *server_event(const struct server *s)
{
    return s->event;
}
