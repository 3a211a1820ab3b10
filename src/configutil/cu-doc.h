/* msg.conf as configutil edits it: every line kept as written (comments, blank lines, lines it
 * cannot parse), entries replaced in place, new ones appended; written atomically under a lock. */
#ifndef HALYARD_CU_DOC_H
#define HALYARD_CU_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

struct cu_line {
    char *text;  /* the line as read (NULL for a line configutil wrote) */
    char *canon; /* canonical name for an entry of a known parameter, else NULL */
    char *value; /* the entry's value (NULL for comments and unknown lines) */
    char *why;   /* what is wrong with the line (syntax, unknown name, bad value), or NULL */
};

struct cu_doc {
    struct cu_line *lines;
    size_t count, cap;
};

/* Reads path; a missing file gives an empty document. Returns 0, or -1 with err_r (caller
 * frees). */
int cu_doc_read(const char *path, struct cu_doc **doc_r, char **err_r);

/* Reads an import file (or stdin for "-") as name/value pairs: every line must be an entry,
 * comment or blank line, and every name known and value valid (an empty value means "clear").
 * All problems are reported together, one per line, in err_r. Returns 0 or -1. */
int cu_doc_read_import(const char *path, struct cu_doc **doc_r, char **err_r);

void cu_doc_free(struct cu_doc **doc);

/* Sets canon (a canonical name) to value, or removes it when value is NULL. The first line of
 * that parameter is replaced in place and any later duplicate removed. Returns 1 when the
 * document changed, 0 when not, -1 when out of memory. */
int cu_doc_set(struct cu_doc *doc, const char *canon, const char *value);

/* The value the document sets for canon, or NULL. */
const char *cu_doc_get(const struct cu_doc *doc, const char *canon);

/* A configuration of the document's valid entries. The first invalid line, if any, is
 * described in problem_r ("msg.conf:7: ..."; caller frees), so a caller can warn about it. */
struct conf *cu_doc_conf(const struct cu_doc *doc, const char *path, char **problem_r);

/* Writes doc to path atomically: temp file in the same directory, fsync, rename, fsync of the
 * directory. Mode and owner of an existing file are kept; a new one gets 0640 and the
 * directory's group. Missing directories are created. Returns 0, or -1 with err_r. */
int cu_doc_write(const struct cu_doc *doc, const char *path, char **err_r);

/* Replaces path with text atomically (same steps as cu_doc_write). mode -1 keeps an existing
 * file's mode and owner as cu_doc_write does. Returns 0, or -1 with err_r. */
int cu_write_atomic(const char *path, const char *text, int mode, char **err_r);

/* Takes the exclusive lock that serialises configutil runs on path (a lock file beside it);
 * returns the fd to close when done, or -1 with err_r. */
int cu_doc_lock(const char *path, char **err_r);

/* mkdir -p for dir; returns 0 or -1 with errno set. */
int cu_mkdirs(const char *dir);

#endif
