/* Unit tests of spool.c's janitor: only stale spool files go. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "queue/spool.h"

/* Creates dir/name, dated age seconds ago. */
static void touch(const char *dir, const char *name, long age) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
    struct timeval times[2];
    gettimeofday(&times[0], NULL);
    times[0].tv_sec -= age;
    times[1] = times[0];
    utimes(path, times);
}

static bool exists(const char *dir, const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

int main(void) {
    char dir[] = "/tmp/sp-spool-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    sp_err err;
    CHECK(sp_spool_init(dir, &err) == 0);
    touch(dir, "old.video", 90000);
    touch(dir, "old.part.12", 90000);
    touch(dir, "old.lock", 90000);
    touch(dir, "new.video", 10);
    touch(dir, "notes.txt", 90000);
    CHECK(sp_spool_sweep(dir, 86400) == 3);
    CHECK(!exists(dir, "old.video") && !exists(dir, "old.part.12") && !exists(dir, "old.lock"));
    CHECK(exists(dir, "new.video") && exists(dir, "notes.txt"));
    sp_spool_remove(dir, "new");
    CHECK(!exists(dir, "new.video"));
    char path[512];
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    unlink(path);
    CHECK(rmdir(dir) == 0);
    return check_done("test_spool");
}
