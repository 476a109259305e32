/*
 * berth-shim: paths inside a container's root, resolved as the container will see them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"

/*
 * Resolves `rel` inside `root` as if `root` were `/`: the image's symbolic links are followed
 * within it (an absolute target starts again at `root`, `..` stops there), so no link of the
 * image leads a mount, a mkdir or a file made here out of it onto the node. Missing parts stay
 * as they are, to be made.
 */
int in_root(const char *root, const char *rel, char *out, size_t n) {
  static char rest[8192], cur[4096], full[8192], target[4096], next[8192];
  snprintf(rest, sizeof rest, "%s", rel);
  cur[0] = 0;
  int hops = 0;
  char *p = rest;
  while (*p) {
    while (*p == '/') p++;
    if (!*p) break;
    char *end = strchr(p, '/');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    char comp[256];
    if (len >= sizeof comp) {
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(comp, p, len);
    comp[len] = 0;
    p += len;
    if (!strcmp(comp, ".")) continue;
    if (!strcmp(comp, "..")) {
      char *slash = strrchr(cur, '/');
      if (slash) *slash = 0;
      else cur[0] = 0;
      continue;
    }
    snprintf(full, sizeof full, "%s/%s%s%s", root, cur, *cur ? "/" : "", comp);
    ssize_t t = readlink(full, target, sizeof target - 1);
    if (t < 0) { /* no link (or not there yet): a plain part */
      size_t l = strlen(cur);
      snprintf(cur + l, sizeof cur - l, "%s%s", l ? "/" : "", comp);
      continue;
    }
    if (++hops > 40) {
      errno = ELOOP;
      return -1;
    }
    target[t] = 0;
    snprintf(next, sizeof next, "%s/%s", target, p);
    if (target[0] == '/') cur[0] = 0;
    snprintf(rest, sizeof rest, "%s", next);
    p = rest;
  }
  snprintf(out, n, "%s/%s", root, cur);
  return 0;
}

