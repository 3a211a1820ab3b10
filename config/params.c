/* The parameter table: every setting Halyard has, declared once. configutil, the daemons' config
 * reader, the default msg.conf, docs/parameters.md and the tests are all generated from it. */
#include <string.h>
#include <strings.h>

#include "access.h"
#include "ens-access.h"
#include "halyard-build.h"
#include "params.h"

#define RD_FRONT    (READER_IMAPD | READER_POPD | READER_MSHTTPD)
#define RD_AUTH     (RD_FRONT | READER_LMTPD)
#define RD_DAEMONS  (RD_AUTH | READER_ENPD | READER_STORE)
#define STORE_UNITS "halyard-imapd.service halyard-popd.service halyard-lmtpd.service"

/* The rows every protocol service has. Sun's idletimeout cannot be set below its default, so
 * the default is also the minimum. */
#define SERVICE_ROWS(svc, label, rd, sock, ssock, port, sslport, maxsess, idle)                    \
    {.name = "service." svc ".enable",                                                             \
     .type = PARAM_BOOL,                                                                           \
     .def = "yes",                                                                                 \
     .readers = rd,                                                                                \
     .dropin = DROPIN_ENABLE,                                                                      \
     .unit = sock,                                                                                 \
     .help = "Serve " label " on the plain port (enables or disables " sock ")"},                  \
        {.name = "service." svc ".port",                                                           \
         .type = PARAM_INT,                                                                        \
         .def = #port,                                                                             \
         .min = 1,                                                                                 \
         .max = 65535,                                                                             \
         .readers = rd,                                                                            \
         .dropin = DROPIN_LISTEN,                                                                  \
         .unit = sock,                                                                             \
         .help = "TCP port for " label " in clear text (STARTTLS upgrades it)"},                   \
        {.name = "service." svc ".enablesslport",                                                  \
         .type = PARAM_BOOL,                                                                       \
         .def = "no",                                                                              \
         .readers = rd,                                                                            \
         .dropin = DROPIN_ENABLE,                                                                  \
         .unit = ssock,                                                                            \
         .help = "Serve " label " over TLS from the first byte (enables or disables " ssock ")"},  \
        {.name = "service." svc ".sslport",                                                        \
         .type = PARAM_INT,                                                                        \
         .def = #sslport,                                                                          \
         .min = 1,                                                                                 \
         .max = 65535,                                                                             \
         .readers = rd,                                                                            \
         .dropin = DROPIN_LISTEN,                                                                  \
         .unit = ssock,                                                                            \
         .help = "TCP port for " label " over TLS"},                                               \
        {.name = "service." svc ".banner",                                                         \
         .type = PARAM_STRING,                                                                     \
         .def = "%h %p service (%P %V)",                                                           \
         .flags = PARAM_REFRESHABLE,                                                               \
         .readers = rd,                                                                            \
         .help = "Greeting text: %h host name, %p protocol, %P product, %V version"},              \
        {.name = "service." svc ".plaintextmincipher",                                             \
         .type = PARAM_INT,                                                                        \
         .def = "0",                                                                               \
         .min = -1,                                                                                \
         .max = 256,                                                                               \
         .flags = PARAM_REFRESHABLE,                                                               \
         .readers = rd,                                                                            \
         .help = "Password login: -1 never, 0 always, N>0 only over TLS with a cipher of at "      \
                 "least N bits"},                                                                  \
        {.name = "service." svc ".maxsessions",                                                    \
         .type = PARAM_INT,                                                                        \
         .def = #maxsess,                                                                          \
         .min = 1,                                                                                 \
         .max = 100000,                                                                            \
         .readers = rd,                                                                            \
         .help = "Connections one process holds; the next one is refused"},                        \
        {.name = "service." svc ".maxthreads",                                                     \
         .type = PARAM_INT,                                                                        \
         .def = "250",                                                                             \
         .min = 1,                                                                                 \
         .max = 1024,                                                                              \
         .readers = rd,                                                                            \
         .help = "Threads one process runs blocking work on"},                                     \
        {.name = "service." svc ".numprocesses",                                                   \
         .type = PARAM_INT,                                                                        \
         .def = "1",                                                                               \
         .min = 1,                                                                                 \
         .max = 64,                                                                                \
         .readers = rd,                                                                            \
         .help = "Worker processes sharing the listeners (about one per CPU, up to 4)"},           \
        {.name = "service." svc ".idletimeout",                                                    \
         .type = PARAM_INT,                                                                        \
         .def = #idle,                                                                             \
         .min = idle,                                                                              \
         .max = 1440,                                                                              \
         .flags = PARAM_REFRESHABLE,                                                               \
         .readers = rd,                                                                            \
         .help = "Minutes a silent connection is kept (cannot be set below the default)"},         \
        {.name = "service." svc ".domainallowed",                                                  \
         .type = PARAM_STRING,                                                                     \
         .def = "",                                                                                \
         .flags = PARAM_REFRESHABLE,                                                               \
         .readers = rd,                                                                            \
         .check = access_filter_check,                                                             \
         .help = "Clients allowed to connect, tcp-wrappers style (empty: every client)"},          \
    {                                                                                              \
        .name = "service." svc ".domainnotallowed", .type = PARAM_STRING, .def = "",               \
        .flags = PARAM_REFRESHABLE, .readers = rd, .check = access_filter_check,                   \
        .help = "Clients refused, tcp-wrappers style (checked after domainallowed)"                \
    }

/* A Halyard addition (Dovecot has the same idea): RFC 3501 and RFC 1939 autologout timers are
 * for authenticated sessions; an unauthenticated one gets a much shorter leash. */
#define LOGINIDLE_ROW(svc, rd)                                                                     \
    {                                                                                              \
        .name = "service." svc ".loginidletimeout", .type = PARAM_INT, .def = "180", .min = 5,     \
        .max = 3600, .flags = PARAM_REFRESHABLE, .readers = rd,                                    \
        .help = "Seconds a connection that has not logged in may stay silent"                      \
    }

#define EVENT_ROW(evt)                                                                             \
    {                                                                                              \
        .name = "local.store.notifyplugin." evt ".enable", .type = PARAM_BOOL, .def = "yes",       \
        .flags = PARAM_REFRESHABLE, .readers = READER_STORE,                                       \
        .help = "Publish " evt " events (when the notify plugin is loaded)"                        \
    }

const struct param param_table[] = {
    SERVICE_ROWS("imap", "IMAP", READER_IMAPD, "halyard-imap.socket", "halyard-imaps.socket", 143,
                 993, 4000, 30),
    LOGINIDLE_ROW("imap", READER_IMAPD),
    /* The command parser's bounds (src/imapd/imapd-parse.c explains each default). */
    {.name = "service.imap.maxlinelength",
     .type = PARAM_INT,
     .def = "8192",
     .min = 1024,
     .max = 1048576,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Octets of one command line without its literals (RFC 7162 4: at least 8192); "
             "longer: BAD and the rest of the line is skipped"},
    {.name = "service.imap.maxliteral",
     .type = PARAM_INT,
     .def = "65536",
     .min = 1024,
     .max = 16777216,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Octets of literals one command may hold in memory (strings of LOGIN, SEARCH, "
             "names; RFC 7888 4)"},
    {.name = "service.imap.maxmessagesize",
     .type = PARAM_INT,
     .def = "52428800",
     .min = 1024,
     .max = 2147483647,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Octets of a message APPEND accepts (larger: NO [TOOBIG], RFC 4469 / 7889)"},
    {.name = "service.imap.maxdiscard",
     .type = PARAM_INT,
     .def = "104857600",
     .min = 0,
     .max = 2147483647,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "An over-limit non-synchronising literal up to this size is read and thrown away "
             "(RFC 7888 4, option 1); a larger one ends the connection (option 2)"},
    {.name = "service.imap.maxnesting",
     .type = PARAM_INT,
     .def = "32",
     .min = 4,
     .max = 256,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Nesting of parenthesised lists in one command"},
    {.name = "service.imap.maxarguments",
     .type = PARAM_INT,
     .def = "1024",
     .min = 16,
     .max = 65536,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Arguments of one command, counted at every level"},
    {.name = "service.imap.idlekeepalive",
     .type = PARAM_INT,
     .def = "120",
     .min = 1,
     .max = 1800,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Seconds between '* OK Still here' lines to an idling client (IDLE), well under "
             "the NAT and firewall timeouts that would cut a silent connection"},
    {.name = "service.imap.idlepoll",
     .type = PARAM_INT,
     .def = "10",
     .min = 1,
     .max = 600,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Seconds between idling sessions' own looks at the store while enpd is unreachable"},
    /* private shared folders (Sun 6.3 Administration Guide 20.6): what owners may grant */
    {.name = "store.privatesharedfolders.restrictanyone",
     .type = PARAM_BOOL,
     .def = "no",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Refuse SETACL from users that grants rights to anyone (or anyone@domain)"},
    {.name = "store.privatesharedfolders.restrictdomain",
     .type = PARAM_BOOL,
     .def = "no",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Refuse SETACL from users that grants rights to identifiers outside their domain"},
    /* Netscape's IMAP extensions (X-NETSCAPE, XSERVERINFO): web pages a client may offer */
    {.name = "service.imap.accounturl",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Account page URL the NETSCAPE command names in '* ACCOUNT-URL' (empty: none)"},
    {.name = "service.imap.manageaccounturl",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Account management page URL for XSERVERINFO MANAGEACCOUNTURL (empty: NIL)"},
    {.name = "service.imap.managelistsurl",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Mailing-list management page URL for XSERVERINFO MANAGELISTSURL (empty: NIL)"},
    {.name = "service.imap.managefiltersurl",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD,
     .help = "Mail filter management page URL for XSERVERINFO MANAGEFILTERSURL (empty: NIL)"},
    SERVICE_ROWS("pop", "POP3", READER_POPD, "halyard-pop.socket", "halyard-pops.socket", 110, 995,
                 600, 10),
    LOGINIDLE_ROW("pop", READER_POPD),
    {.name = "service.pop.capaimplementation",
     .type = PARAM_BOOL,
     .def = "no",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_POPD,
     .help = "Name product and version in CAPA's IMPLEMENTATION line (RFC 2449 6.9)"},
    {.name = "service.pop.allowanonymouslogin",
     .type = PARAM_BOOL,
     .def = "no",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_POPD,
     .help = "Accept the anonymous POP3 login"},
    /* LMTP: always on the unix socket /run/halyard/lmtp (halyard-lmtp.socket); TCP is optional
     * (halyard-lmtp-tcp.socket), for an MTA on another host. */
    {.name = "service.lmtp.enabletcp",
     .type = PARAM_BOOL,
     .def = "no",
     .readers = READER_LMTPD,
     .dropin = DROPIN_ENABLE,
     .unit = "halyard-lmtp-tcp.socket",
     .help = "Also take LMTP over TCP (enables or disables halyard-lmtp-tcp.socket)"},
    {.name = "service.lmtp.port",
     .type = PARAM_INT,
     .def = "24",
     .min = 1,
     .max = 65535,
     .readers = READER_LMTPD,
     .dropin = DROPIN_LISTEN,
     .unit = "halyard-lmtp-tcp.socket",
     .help = "TCP port for LMTP when service.lmtp.enabletcp is on (RFC 2033 suggests 24)"},
    {.name = "service.lmtp.banner",
     .type = PARAM_STRING,
     .def = "%h %p service (%P %V)",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_LMTPD,
     .help = "LMTP greeting text after 220: %h host name, %p protocol, %P product, %V version"},
    {.name = "service.lmtp.maxsessions",
     .type = PARAM_INT,
     .def = "200",
     .min = 1,
     .max = 100000,
     .readers = READER_LMTPD,
     .help = "LMTP connections one process holds; the next one gets 421"},
    {.name = "service.lmtp.maxthreads",
     .type = PARAM_INT,
     .def = "32",
     .min = 1,
     .max = 1024,
     .readers = READER_LMTPD,
     .help = "Threads one lmtpd process delivers on (each blocks on fsync)"},
    {.name = "service.lmtp.numprocesses",
     .type = PARAM_INT,
     .def = "1",
     .min = 1,
     .max = 64,
     .readers = READER_LMTPD,
     .help = "lmtpd worker processes sharing the sockets"},
    {.name = "service.lmtp.idletimeout",
     .type = PARAM_INT,
     .def = "5",
     .min = 1,
     .max = 60,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_LMTPD,
     .help = "Minutes an LMTP client may stay silent (RFC 5321 4.5.3.2.7: at least 5)"},
    {.name = "service.lmtp.maxmessagesize",
     .type = PARAM_INT,
     .def = "52428800",
     .min = 1024,
     .max = 2147483647,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_LMTPD,
     .help = "Largest message lmtpd accepts, in bytes (larger: 552 5.3.4)"},
    SERVICE_ROWS("http", "webmail", READER_MSHTTPD, "halyard-http.socket", "halyard-https.socket",
                 80, 443, 6000, 3),
    {.name = "service.http.sessiontimeout",
     .type = PARAM_INT,
     .def = "7200",
     .min = 60,
     .max = 604800,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_MSHTTPD,
     .help = "Seconds a webmail session survives without a request"},
    {.name = "service.http.spooldir",
     .type = PARAM_PATH,
     .def = LOCALSTATEDIR "/spool/halyard/http",
     .readers = READER_MSHTTPD,
     .dropin = DROPIN_RWPATHS,
     .unit = "halyard-mshttpd.service",
     .help = "Directory for uploaded attachments while a message is composed"},
    {.name = "service.http.maxmessagesize",
     .type = PARAM_INT,
     .def = "5242880",
     .min = 1024,
     .max = 2147483647,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_MSHTTPD,
     .help = "Largest message webmail sends, in bytes of its base64 form"},
    {.name = "service.http.smtphost",
     .type = PARAM_STRING,
     .def = "127.0.0.1",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_MSHTTPD,
     .check = param_check_host,
     .help = "SMTP server webmail sends through"},
    {.name = "service.http.smtpport",
     .type = PARAM_INT,
     .def = "25",
     .min = 1,
     .max = 65535,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_MSHTTPD,
     .help = "Port of service.http.smtphost"},
    {.name = "service.http.sslusessl",
     .type = PARAM_BOOL,
     .def = "no",
     .readers = READER_MSHTTPD,
     .help = "Set up TLS in mshttpd (needed for local.service.proxy.imapssl)"},
    {.name = "service.authfailuremax",
     .type = PARAM_INT,
     .def = "3",
     .min = 1,
     .max = 100,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD | READER_POPD,
     .help = "Failed logins one connection may make before it is closed"},
    {.name = "service.authcachettl",
     .type = PARAM_INT,
     .def = "120",
     .min = 0,
     .max = 3600,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD | READER_POPD,
     .help = "Seconds a verified password is remembered (as a keyed digest) so a repeated login "
             "skips the hashing; 0 turns the cache off"},
    {.name = "service.authfailuredelay",
     .type = PARAM_INT,
     .def = "2",
     .min = 0,
     .max = 60,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD | READER_POPD,
     .help = "Seconds before a failed login is answered (slows password guessing)"},
    {.name = "service.prelogincommands",
     .type = PARAM_INT,
     .def = "30",
     .min = 5,
     .max = 1000,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD | READER_POPD,
     .help = "Commands a connection may send before it logs in; then it is closed"},
    {.name = "service.defaultdomain",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_REFRESHABLE,
     .readers = RD_FRONT,
     .check = param_check_host,
     .help = "Domain appended to login IDs that have none (empty: none)"},
    /* '+' rather than '%': '%' is a list wildcard and so an atom-special in IMAP (RFC 3501
     * section 9), which would force clients to quote the login ID; '+' is a plain atom char. */
    {.name = "service.loginseparator",
     .type = PARAM_STRING,
     .def = "+",
     .flags = PARAM_REFRESHABLE,
     .readers = RD_FRONT,
     .check = param_check_login_separator,
     .help = "Character a login ID may use instead of @ (empty: only @)"},
    {.name = "local.service.proxy.imapport",
     .type = PARAM_INT,
     .def = "143",
     .min = 1,
     .max = 65535,
     .flags = PARAM_REFRESHABLE | PARAM_HOST_SUFFIX,
     .readers = RD_FRONT,
     .help = "IMAP port of the store host (suffix .<host> for one back end)"},
    {.name = "local.service.proxy.imapssl",
     .type = PARAM_BOOL,
     .def = "no",
     .flags = PARAM_REFRESHABLE,
     .readers = RD_FRONT,
     .help = "Reach the store host's IMAP over TLS"},
    {.name = "local.service.proxy.admin",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_REFRESHABLE | PARAM_HOST_SUFFIX,
     .readers = RD_FRONT,
     .help = "Proxy-authorisation admin ID on the store host (suffix .<host> for one back end)"},
    {.name = "local.service.proxy.adminpass",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_REFRESHABLE | PARAM_HOST_SUFFIX | PARAM_SECRET,
     .readers = RD_FRONT,
     .help = "Password of local.service.proxy.admin (suffix .<host> for one back end)"},
    {.name = "local.store.notifyplugin",
     .type = PARAM_STRING,
     .def = "",
     .readers = READER_STORE,
     .help = "Publish store events to ENS when set (any value, e.g. Sun's libibiff path)"},
    {.name = "local.store.notifyplugin.enshost",
     .type = PARAM_STRING,
     .def = "127.0.0.1",
     .readers = READER_STORE,
     .check = param_check_host,
     .help = "Host enpd runs on"},
    {.name = "local.store.notifyplugin.ensport",
     .type = PARAM_INT,
     .def = "7997",
     .min = 1,
     .max = 65535,
     .readers = READER_STORE,
     .help = "Port enpd listens on"},
    {.name = "local.store.notifyplugin.enseventkey",
     .type = PARAM_STRING,
     .def = "enp://127.0.0.1/store",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_STORE,
     .check = param_check_enp_url,
     .help = "Event key; for IMAP IDLE it must end in %M (replaced by the mailbox)"},
    {.name = "local.store.notifyplugin.noneinbox.enable",
     .type = PARAM_BOOL,
     .def = "no",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_STORE,
     .help = "Publish events of every mailbox, not only INBOX (IDLE is offered only then)"},
    {.name = "local.store.notifyplugin.maxheadersize",
     .type = PARAM_INT,
     .def = "0",
     .min = 0,
     .max = 1048576,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_STORE,
     .help = "Bytes of the message header carried in an event"},
    {.name = "local.store.notifyplugin.maxbodysize",
     .type = PARAM_INT,
     .def = "0",
     .min = 0,
     .max = 1048576,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_STORE,
     .help = "Bytes of the message body carried in an event"},
    EVENT_ROW("NewMsg"),
    EVENT_ROW("UpdateMsg"),
    EVENT_ROW("ReadMsg"),
    EVENT_ROW("TrashMsg"),
    EVENT_ROW("DeleteMsg"),
    EVENT_ROW("PurgeMsg"),
    EVENT_ROW("OverQuota"),
    EVENT_ROW("UnderQuota"),
    EVENT_ROW("Login"),
    EVENT_ROW("Logout"),
    /* not an ENS type of Sun's: the name its JMQ plugin gives a flag change that is neither a
     * read nor a trash, published so that IDLE hears of every change */
    EVENT_ROW("MsgFlags"),
    {.name = "local.enpd.port",
     .type = PARAM_INT,
     .def = "7997",
     .min = 1,
     .max = 65535,
     .readers = READER_ENPD,
     .dropin = DROPIN_LISTEN,
     .unit = "halyard-enp.socket",
     .help = "TCP port enpd listens on"},
    {.name = "service.enp.banner",
     .type = PARAM_STRING,
     .def = "%h %p service (%P %V)",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_ENPD,
     .help = "enpd greeting text after +OK: %h host name, %p protocol, %P product, %V version"},
    {.name = "service.enp.maxsessions",
     .type = PARAM_INT,
     .def = "20000",
     .min = 1,
     .max = 1000000,
     .readers = READER_ENPD,
     .help = "Connections enpd holds (publishers and subscribers); the next one is refused"},
    {.name = "service.enp.maxthreads",
     .type = PARAM_INT,
     .def = "1",
     .min = 1,
     .max = 1,
     .readers = READER_ENPD,
     .help = "enpd does all its work on its event loop: one thread"},
    {.name = "service.enp.numprocesses",
     .type = PARAM_INT,
     .def = "1",
     .min = 1,
     .max = 1,
     .readers = READER_ENPD,
     .help = "enpd keeps its subscriptions in memory: one process"},
    {.name = "service.enp.idletimeout",
     .type = PARAM_INT,
     .def = "0",
     .min = 0,
     .max = 10080,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_ENPD,
     .help = "Minutes an enpd connection may stay silent (0: subscribers wait for events for "
             "ever; TCP keep-alive finds dead peers)"},
    {.name = "service.enp.maxqueue",
     .type = PARAM_INT,
     .def = "1048576",
     .min = 4096,
     .max = 1073741824,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_ENPD,
     .help = "Bytes of events a subscriber may leave unread before enpd drops it"},
    {.name = "service.enp.maxkeys",
     .type = PARAM_INT,
     .def = "100000",
     .min = 1,
     .max = 10000000,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_ENPD,
     .help = "Event keys one connection may subscribe to"},
    {.name = "local.enpd.access",
     .type = PARAM_STRING,
     .def = "+127.0.0.1|255.255.255.255",
     .readers = READER_ENPD,
     .dropin = DROPIN_ENV,
     .unit = "halyard-enpd.service",
     .envname = "ENS_ACCESS",
     .check = ens_access_check,
     .help = "Who may connect to enpd: [+-]addr|mask items separated by ; (first match wins)"},
    {.name = "store.partition.primary.path",
     .type = PARAM_PATH,
     .def = LOCALSTATEDIR "/lib/halyard/store",
     .readers = READER_STORE,
     .dropin = DROPIN_RWPATHS,
     .unit = STORE_UNITS,
     .help = "Directory of the message store"},
    {.name = "local.store.locktimeout",
     .type = PARAM_INT,
     .def = "5000",
     .min = 10,
     .max = 600000,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_STORE,
     .help = "Milliseconds a store call waits for a user's index lock before failing as busy"},
    {.name = "local.tls.certfile",
     .type = PARAM_PATH,
     .def = "",
     .readers = RD_FRONT,
     .help = "PEM certificate chain of the server (empty: TLS not configured)"},
    {.name = "local.tls.keyfile",
     .type = PARAM_PATH,
     .def = "",
     .readers = RD_FRONT,
     .help = "PEM private key of local.tls.certfile"},
    {.name = "local.tls.cafile",
     .type = PARAM_PATH,
     .def = "",
     .readers = RD_FRONT,
     .help = "PEM CA certificates that client certificates are checked against; set, a client "
             "certificate is asked for (not required) and a verified one allows certificate "
             "login (SASL EXTERNAL)"},
    {.name = "local.certmap.components",
     .type = PARAM_STRING,
     .def = "uid,e",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD | READER_POPD,
     .check = param_check_certmap_components,
     .help = "Subject components of a client certificate that name its user, tried in order: "
             "uid, e (emailAddress), cn; the value is a login ID unless "
             "local.certmap.searchfilter is set"},
    {.name = "local.certmap.searchfilter",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_REFRESHABLE,
     .readers = READER_IMAPD | READER_POPD,
     .check = param_check_certmap_filter,
     .help = "LDAP filter that finds a certificate's user, %s standing for the component's "
             "value, e.g. (mail=%s) (empty: the value is a login ID; needs local.ugldaphost)"},
    {.name = "local.auth.scramiterations",
     .type = PARAM_INT,
     .def = "4096",
     .min = 0,
     .max = 1000000,
     .flags = PARAM_REFRESHABLE,
     .readers = READER_STORE,
     .help = "PBKDF2 iterations of the SCRAM-SHA-256 keys mailuser stores with a password "
             "(RFC 7677: at least 4096); 0 stores none, so those accounts cannot use SCRAM"},
    {.name = "local.tls.priority",
     .type = PARAM_STRING,
     .def = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
     .readers = RD_FRONT,
     .check = param_check_tls_priority,
     .help = "GnuTLS priority string (TLS 1.2 minimum)"},
    {.name = "local.ugldaphost",
     .type = PARAM_STRING,
     .def = "",
     .readers = RD_AUTH,
     .help = "LDAP server(s) for users, space-separated, each host or host:port (empty: the "
             "store's own user table)"},
    {.name = "local.ugldapport",
     .type = PARAM_INT,
     .def = "389",
     .min = 1,
     .max = 65535,
     .readers = RD_AUTH,
     .help = "Port of local.ugldaphost"},
    {.name = "local.ugldapbasedn",
     .type = PARAM_STRING,
     .def = "",
     .readers = RD_AUTH,
     .help = "Base DN user searches start from"},
    {.name = "local.ugldapbinddn",
     .type = PARAM_STRING,
     .def = "",
     .readers = RD_AUTH,
     .help = "DN to bind as for searches (empty: anonymous)"},
    {.name = "local.ugldapbindcred",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_SECRET,
     .readers = RD_AUTH,
     .help = "Password of local.ugldapbinddn"},
    {.name = "local.ugldapusessl",
     .type = PARAM_BOOL,
     .def = "no",
     .readers = RD_AUTH,
     .help = "Speak LDAPS to local.ugldaphost"},
    {.name = "local.ugldapstarttls",
     .type = PARAM_BOOL,
     .def = "no",
     .readers = RD_AUTH,
     .help = "Upgrade the LDAP connection with StartTLS"},
    {.name = "local.ugldapcafile",
     .type = PARAM_PATH,
     .def = "",
     .readers = RD_AUTH,
     .help = "PEM CA certificates the LDAP server's certificate is checked against with LDAPS or "
             "StartTLS (empty: the system's)"},
    {.name = "local.ugldaptimeout",
     .type = PARAM_INT,
     .def = "5",
     .min = 1,
     .max = 300,
     .readers = RD_AUTH,
     .help = "Seconds an LDAP connect, bind or search may take before the login is told to "
             "try again later"},
    {.name = "local.ugldappoolsize",
     .type = PARAM_INT,
     .def = "4",
     .min = 1,
     .max = 32,
     .readers = RD_AUTH,
     .help = "LDAP connections each process keeps open (each serves one thread at a time)"},
    {.name = "local.ugldapcachettl",
     .type = PARAM_INT,
     .def = "60",
     .min = 0,
     .max = 86400,
     .flags = PARAM_REFRESHABLE,
     .readers = RD_AUTH,
     .help = "Seconds an LDAP user lookup is reused (0: no cache); directory changes count "
             "after at most this long"},
    {.name = "local.hostname",
     .type = PARAM_STRING,
     .def = "",
     .flags = PARAM_REFRESHABLE,
     .readers = RD_DAEMONS,
     .check = param_check_host,
     .help = "Host name in banners and events (empty: the machine's host name)"},
    {.name = "local.serveruser",
     .type = PARAM_STRING,
     .def = "halyard",
     .readers = RD_DAEMONS,
     .check = param_check_user,
     .help = "User a daemon started as root runs as (units set User= themselves)"},
};

const size_t param_count = sizeof(param_table) / sizeof(param_table[0]);

/* A host suffix is a DNS name: letters, digits, hyphens, dots. Its exact form is checked by
 * param_validate; here it only has to be non-empty. */
static bool param_suffix_matches(const struct param *p, const char *name)
{
    size_t len = strlen(p->name);

    return (p->flags & PARAM_HOST_SUFFIX) && strncasecmp(name, p->name, len) == 0 &&
           name[len] == '.' && name[len + 1] != '\0';
}

const struct param *param_find(const char *name)
{
    const struct param *suffixed = NULL;

    for (size_t i = 0; i < param_count; i++) {
        if (strcasecmp(param_table[i].name, name) == 0)
            return &param_table[i];
        if (suffixed == NULL && param_suffix_matches(&param_table[i], name))
            suffixed = &param_table[i];
    }
    return suffixed;
}
