/* Carrying out a configutil plan with systemctl. Units that systemd does not know (daemons not
 * installed yet) are skipped; a failing step is reported and the rest still run. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cu-apply.h"

#define CU_OUTPUT_MAX 4096 /* bytes of a systemctl answer kept for a message */

/* Runs systemctl with args (NULL-terminated, without argv[0]); returns its exit status, or -1
 * when it could not run. Its output (stdout and stderr) goes to out (up to CU_OUTPUT_MAX). */
static int cu_systemctl(const char *const *args, char *out, size_t outsize)
{
    const char *argv[12] = {"systemctl", "--no-ask-password"};
    size_t argc = 2, len = 0;
    int pipefd[2], status;
    pid_t pid;
    ssize_t n;

    for (size_t i = 0; args[i] != NULL && argc < sizeof(argv) / sizeof(argv[0]) - 1; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    out[0] = '\0';
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    while ((n = read(pipefd[0], out + len, outsize - 1 - len)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
        if (len == outsize - 1) {
            char drain[256];

            while (read(pipefd[0], drain, sizeof(drain)) > 0)
                ;
            break;
        }
    }
    out[len] = '\0';
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Whether systemd knows unit: LoadState=not-found means no unit file (a daemon that is not
 * installed yet). When systemctl cannot answer at all (no systemd running), the step is tried
 * anyway, so that its failure is reported rather than silently skipped. */
static bool cu_unit_exists(const char *unit)
{
    const char *args[] = {"show", "-p", "LoadState", "--value", unit, NULL};
    char out[CU_OUTPUT_MAX];

    if (cu_systemctl(args, out, sizeof(out)) != 0)
        return true;
    return strncmp(out, "not-found", strlen("not-found")) != 0;
}

static bool cu_unit_exists_in(const char *root, const char *unit)
{
    static const char *const dirs[] = {"/etc/systemd/system", "/usr/lib/systemd/system",
                                       "/lib/systemd/system", "/usr/local/lib/systemd/system"};
    char path[4096];
    struct stat st;

    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(path, sizeof(path), "%s%s/%s", root, dirs[i], unit);
        if (stat(path, &st) == 0)
            return true;
    }
    return false;
}

static bool cu_unit_is(const char *verb, const char *unit)
{
    const char *args[] = {verb, "--quiet", unit, NULL};
    char out[CU_OUTPUT_MAX];

    return cu_systemctl(args, out, sizeof(out)) == 0;
}

/* CU_SETTLE: keep the service running only while one of its sockets is still wanted. */
static const char *cu_settle_verb(const char *service)
{
    char sockets[CU_UNITS_MAX][CU_UNIT_NAME_MAX];
    size_t n = cu_service_sockets(service, sockets, CU_UNITS_MAX);

    for (size_t i = 0; i < n; i++) {
        if (cu_unit_is("is-enabled", sockets[i]) || cu_unit_is("is-active", sockets[i]))
            return "try-restart";
    }
    return "stop";
}

static const char *cu_step_verb(const struct cu_step *step)
{
    switch (step->action) {
    case CU_DAEMON_RELOAD:
        return "daemon-reload";
    case CU_STOP:
        return "stop";
    case CU_SOCKET_RESTART:
    case CU_RESTART:
        return "try-restart";
    case CU_ENABLE:
        return "enable";
    case CU_DISABLE:
        return "disable";
    case CU_SETTLE:
        return cu_settle_verb(step->unit);
    case CU_RELOAD:
        return "try-reload-or-restart";
    }
    return NULL;
}

/* Builds the arguments of one step; returns false when the step is to be skipped. */
static bool cu_step_args(const struct cu_step *step, const char *root, const char **args,
                         char *rootopt, size_t rootsize)
{
    size_t n = 0;
    bool toggles = step->action == CU_ENABLE || step->action == CU_DISABLE;

    if (root != NULL) {
        /* An image is not running: only the enablement symlinks can be set. */
        if (!toggles || !cu_unit_exists_in(root, step->unit))
            return false;
        snprintf(rootopt, rootsize, "--root=%s", root);
        args[n++] = rootopt;
    } else if (step->action != CU_DAEMON_RELOAD && !cu_unit_exists(step->unit)) {
        return false;
    }
    args[n++] = cu_step_verb(step);
    if (toggles && root == NULL)
        args[n++] = "--now";
    if (step->action != CU_DAEMON_RELOAD)
        args[n++] = step->unit;
    args[n] = NULL;
    return true;
}

int cu_plan_run(const struct cu_plan *plan, const char *root, bool verbose, char **err_r)
{
    size_t len = 0;
    FILE *errs = open_memstream(err_r, &len);
    int ret = 0;

    if (errs == NULL)
        return -1;
    for (size_t i = 0; i < plan->count; i++) {
        const char *args[8];
        char rootopt[4096], out[CU_OUTPUT_MAX];
        int status;

        if (!cu_step_args(&plan->steps[i], root, args, rootopt, sizeof(rootopt))) {
            if (verbose)
                fprintf(stderr, "configutil: skipped %s: no such unit here\n",
                        plan->steps[i].unit[0] != '\0' ? plan->steps[i].unit : "(daemon-reload)");
            continue;
        }
        if (verbose) {
            fputs("configutil: systemctl", stderr);
            for (size_t j = 0; args[j] != NULL; j++)
                fprintf(stderr, " %s", args[j]);
            fputc('\n', stderr);
        }
        status = cu_systemctl(args, out, sizeof(out));
        if (verbose && out[0] != '\0')
            fputs(out, stderr);
        if (status != 0) {
            fprintf(errs, "%ssystemctl", ret < 0 ? "\n" : "");
            for (size_t j = 0; args[j] != NULL; j++)
                fprintf(errs, " %s", args[j]);
            fprintf(errs, " failed (status %d)%s%.*s", status, out[0] != '\0' ? ": " : "",
                    (int)strcspn(out, "\n"), out);
            ret = -1;
        }
    }
    if (fclose(errs) != 0)
        ret = -1;
    if (ret == 0) {
        free(*err_r);
        *err_r = NULL;
    }
    return ret;
}
