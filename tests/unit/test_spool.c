/* Unit tests of spool.c's janitor: only stale spool files go. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "spool/spool.h"

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

static void stale_files_go_and_others_stay(const char *dir) {
    touch(dir, "old.video", 90000);
    touch(dir, "old.part", 90000);
    touch(dir, "old.validator", 90000);
    touch(dir, "old.lock", 90000);
    touch(dir, "new.video", 10);
    touch(dir, "notes.txt", 90000);
    touch(dir, "x.videos", 90000);
    CHECK(sp_spool_sweep(dir, 86400) == 4);
    CHECK(!exists(dir, "old.video") && !exists(dir, "old.part") && !exists(dir, "old.lock"));
    CHECK(!exists(dir, "old.validator"));
    CHECK(exists(dir, "new.video") && exists(dir, "notes.txt") && exists(dir, "x.videos"));
    sp_spool_remove(dir, "new");
    CHECK(!exists(dir, "new.video"));
    char path[512];
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/x.videos", dir);
    unlink(path);
}

/* A lock file is a day old when a slot takes it for a long download: the
 * sweep must leave it (and the job's partial file) while the slot holds it,
 * or a second slot would open a new lock file and download beside it. */
static void files_of_a_locked_job_stay(const char *dir) {
    touch(dir, "busy.lock", 90000);
    touch(dir, "busy.part", 90000);
    char path[512];
    snprintf(path, sizeof path, "%s/busy.lock", dir);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    CHECK(sp_spool_sweep(dir, 86400) == 0);
    CHECK(exists(dir, "busy.lock") && exists(dir, "busy.part"));
    flock(fd, LOCK_UN);
    close(fd);
    CHECK(sp_spool_sweep(dir, 86400) == 2);
    CHECK(!exists(dir, "busy.lock") && !exists(dir, "busy.part"));
}

/* A finished job leaves nothing behind: its lock file goes with its video,
 * unless a slot holds it (then the sweep takes it later). */
static void removing_a_job_takes_its_lock_file_unless_held(const char *dir) {
    touch(dir, "done.video", 10);
    touch(dir, "done.lock", 10);
    sp_spool_remove(dir, "done");
    CHECK(!exists(dir, "done.video") && !exists(dir, "done.lock"));

    touch(dir, "held.video", 10);
    touch(dir, "held.lock", 10);
    char path[512];
    snprintf(path, sizeof path, "%s/held.lock", dir);
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    sp_spool_remove(dir, "held");
    CHECK(!exists(dir, "held.video") && exists(dir, "held.lock"));
    close(fd);
    sp_spool_remove(dir, "held");
    CHECK(!exists(dir, "held.lock"));
    sp_spool_remove(dir, "never"); /* nothing there: nothing to do */
}

int main(void) {
    char dir[] = "/tmp/sp-spool-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    sp_err err;
    CHECK(sp_spool_init(dir, &err) == 0);
    stale_files_go_and_others_stay(dir);
    files_of_a_locked_job_stay(dir);
    removing_a_job_takes_its_lock_file_unless_held(dir);
    CHECK(rmdir(dir) == 0);
    return check_done("test_spool");
}
