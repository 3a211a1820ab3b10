/* configutil(8), printed from the parameter table at build time, so the manual lists exactly
 * the parameters, defaults and drop-ins this build has. */
#include <stdlib.h>
#include <string.h>

#include "cu-show.h"
#include "halyard-build.h"

/* Text for a roff line: backslashes escaped, and a leading '.' or '\'' kept from being read as
 * a request. */
static void cu_roff(FILE *f, const char *text)
{
    if (text[0] == '.' || text[0] == '\'')
        fputs("\\&", f);
    for (const char *s = text; *s != '\0'; s++) {
        if (*s == '\\')
            fputs("\\e", f);
        else if (*s == '-')
            fputs("\\-", f);
        else
            fputc(*s, f);
    }
}

static const char cu_man_head[] =
    ".TH CONFIGUTIL 8 \"\" \"Halyard " HALYARD_VERSION "\" \"Halyard\"\n"
    ".SH NAME\n"
    "configutil \\- show and change Halyard's msg.conf, and the systemd units that follow it\n"
    ".SH SYNOPSIS\n"
    ".B configutil\n"
    "[\\fB\\-f\\fR \\fIfile\\fR] [\\fB\\-\\-root\\fR \\fIdir\\fR] [\\fB\\-\\-no\\-apply\\fR] "
    "[\\fB\\-V\\fR] [\\fB\\-o\\fR \\fIoption\\fR [\\fB\\-v\\fR \\fIvalue\\fR]]\n"
    ".br\n"
    ".B configutil\n"
    "[\\fB\\-f\\fR \\fIfile\\fR] [\\fB\\-p\\fR \\fIprefix\\fR] [\\fB\\-H\\fR] [\\fB\\-m\\fR]\n"
    ".br\n"
    ".B configutil\n"
    "[\\fB\\-f\\fR \\fIfile\\fR] [\\fB\\-\\-root\\fR \\fIdir\\fR] [\\fB\\-\\-no\\-apply\\fR] "
    "\\fB\\-i\\fR \\fIfile\\fR|\\fB\\-\\fR\n"
    ".br\n"
    ".B configutil \\-\\-template\\fR | \\fB\\-\\-markdown\\fR | \\fB\\-\\-man\n"
    ".SH DESCRIPTION\n"
    "msg.conf holds the settings an administrator changed; every other parameter has the default "
    "listed below. configutil checks a value against the parameter's row before writing, "
    "rewrites msg.conf atomically keeping its comments, and serialises concurrent runs with a "
    "lock. Parameters that systemd owns (ports, enabled sockets, the ENS access list, writable "
    "paths) are also written to /etc/systemd/system/\\fIunit\\fR.d/50\\-configutil.conf; then "
    "configutil runs systemctl daemon\\-reload, enables or disables sockets, stops a service "
    "whose socket moves or is enabled, and reloads (REFRESHABLE) or restarts (NOT REFRESHABLE) "
    "the services that read a changed parameter. Units that are not installed are skipped.\n"
    ".SH OPTIONS\n"
    ".TP\n(none)\nList the parameters msg.conf sets, sorted; secrets are shown as ********.\n"
    ".TP\n\\fB\\-o\\fR \\fIoption\\fR\nPrint the option's value: the one set, else the default.\n"
    ".TP\n\\fB\\-o\\fR \\fIoption\\fR \\fB\\-v\\fR \\fIvalue\\fR\nCheck the value, then set it. "
    "An empty value clears the option (back to its default).\n"
    ".TP\n\\fB\\-p\\fR \\fIprefix\\fR\nList only names starting with prefix.\n"
    ".TP\n\\fB\\-H\\fR\nList every parameter with its current value and, where msg.conf changes "
    "it, its default. With \\fB\\-o\\fR: everything known about that parameter.\n"
    ".TP\n\\fB\\-m\\fR\nMark listed parameters [REFRESHABLE] or [NOT REFRESHABLE].\n"
    ".TP\n\\fB\\-i\\fR \\fIfile\\fR\nImport name = value lines (\\- for standard input). Every "
    "line is checked first; one bad line imports nothing. An empty value clears.\n"
    ".TP\n\\fB\\-f\\fR \\fIfile\\fR\nEdit another file; drop\\-ins and systemctl then stay "
    "untouched, since they follow the system msg.conf only.\n"
    ".TP\n\\fB\\-\\-root\\fR \\fIdir\\fR\nEdit the msg.conf and drop\\-ins of the image at dir; "
    "only systemctl \\-\\-root enable/disable is run.\n"
    ".TP\n\\fB\\-\\-no\\-apply\\fR\nWrite msg.conf and the drop\\-ins, run no systemctl.\n"
    ".TP\n\\fB\\-V\\fR\nPrint each systemctl command and its output on standard error.\n"
    ".TP\n\\fB\\-\\-template\\fR, \\fB\\-\\-markdown\\fR, \\fB\\-\\-man\\fR\nPrint the default "
    "msg.conf, the parameter table in Markdown, or this manual.\n"
    ".SH EXIT STATUS\n"
    "0 on success; 1 when the request was refused or failed and nothing was written; 2 when "
    "msg.conf was written but a drop\\-in or a systemctl step failed.\n"
    ".SH FILES\n"
    ".TP\n" CONF_DEFAULT_PATH "\nThe settings (name = value; values with blanks, # or \" are "
    "double\\-quoted).\n"
    ".TP\n/etc/systemd/system/\\fIunit\\fR.d/50\\-configutil.conf\nDrop\\-ins written from "
    "msg.conf.\n"
    ".SH PARAMETERS\n";

void cu_show_man(FILE *f)
{
    fputs(cu_man_head, f);
    for (size_t i = 0; i < param_count; i++) {
        const struct param *p = &param_table[i];
        char *accepts = param_describe(p), *dropin = cu_show_dropin(p);

        fputs(".TP\n.B ", f);
        cu_roff(f, p->name);
        fputs((p->flags & PARAM_HOST_SUFFIX) ? "\\fR[.\\fIhost\\fR]\n" : "\n", f);
        cu_roff(f, p->help);
        fputs(".\n.br\nDefault: ", f);
        cu_roff(f, p->def[0] != '\0' ? p->def : "(empty)");
        fputs("; ", f);
        cu_roff(f, accepts != NULL ? accepts : "?");
        fputs((p->flags & PARAM_REFRESHABLE) ? "; REFRESHABLE" : "; NOT REFRESHABLE", f);
        if (p->flags & PARAM_SECRET)
            fputs("; secret", f);
        if (dropin != NULL && dropin[0] != '\0') {
            fputs("; systemd: ", f);
            cu_roff(f, dropin);
        }
        fputs(".\n", f);
        free(accepts);
        free(dropin);
    }
    fputs(".SH SEE ALSO\n.BR systemctl (1),\n.BR systemd.socket (5)\n", f);
}
