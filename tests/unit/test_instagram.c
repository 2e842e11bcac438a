/* Unit tests of instagram.c: its phase machine, and the readers of Graph's
 * answers fed the documented answers the fake also sends. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "platform_docs.h"
#include "platforms/instagram.h"

static sp_ig_phase after(sp_ig_phase p, sp_ig_event e) {
    return sp_instagram_phase_after(p, e);
}

static void a_reel_goes_container_processing_publishing_published(void) {
    sp_ig_phase p = SP_IG_CONTAINER;
    p = after(p, SP_IG_CREATED);
    CHECK(p == SP_IG_PROCESSING);
    p = after(p, SP_IG_READY);
    CHECK(p == SP_IG_PUBLISHING);
    p = after(p, SP_IG_MEDIA_KNOWN);
    CHECK(p == SP_IG_PUBLISHED);
}

static void a_container_not_ready_after_all_goes_back_to_processing(void) {
    CHECK(after(SP_IG_PUBLISHING, SP_IG_NOT_READY) == SP_IG_PROCESSING);
    CHECK(after(SP_IG_PROCESSING, SP_IG_NOT_READY) == SP_IG_PROCESSING);
}

static void a_container_found_published_is_recorded_not_published_again(void) {
    /* the container read PUBLISHED: the media is looked up and recorded */
    CHECK(after(SP_IG_PROCESSING, SP_IG_MEDIA_KNOWN) == SP_IG_PUBLISHED);
}

static void nothing_skips_a_phase(void) {
    CHECK(after(SP_IG_CONTAINER, SP_IG_READY) == SP_IG_CONTAINER);
    CHECK(after(SP_IG_CONTAINER, SP_IG_MEDIA_KNOWN) == SP_IG_CONTAINER);
    CHECK(after(SP_IG_PROCESSING, SP_IG_CREATED) == SP_IG_PROCESSING);
    CHECK(after(SP_IG_PUBLISHING, SP_IG_READY) == SP_IG_PUBLISHING);
}

static void a_published_reel_stays_published(void) {
    CHECK(after(SP_IG_PUBLISHED, SP_IG_CREATED) == SP_IG_PUBLISHED);
    CHECK(after(SP_IG_PUBLISHED, SP_IG_READY) == SP_IG_PUBLISHED);
    CHECK(after(SP_IG_PUBLISHED, SP_IG_NOT_READY) == SP_IG_PUBLISHED);
    CHECK(after(SP_IG_PUBLISHED, SP_IG_MEDIA_KNOWN) == SP_IG_PUBLISHED);
}

static void names_are_what_the_checkpoint_and_retry_read(void) {
    CHECK_STR(sp_instagram_phase_name(SP_IG_CONTAINER), "container");
    CHECK_STR(sp_instagram_phase_name(SP_IG_PROCESSING), "processing");
    CHECK_STR(sp_instagram_phase_name(SP_IG_PUBLISHING), "publishing");
    CHECK_STR(sp_instagram_phase_name(SP_IG_PUBLISHED), "published");
}

/* The documented answer <name> parsed as the adapter reads it. */
static void parse_doc(const char *name, sp_graph_resp *r) {
    cJSON *doc = sp_doc_load("instagram", name);
    char *body = sp_doc_body_text(doc);
    sp_graph_parse(sp_doc_status(doc), body, -1, r);
    free(body);
    cJSON_Delete(doc);
}

/* The action the documented error <name> asks for. */
static sp_ig_error_action action_of(const char *name) {
    sp_graph_resp r;
    parse_doc(name, &r);
    sp_ig_error_action a = sp_instagram_error_action(&r);
    CHECK(r.failed);
    sp_graph_resp_free(&r);
    return a;
}

/* Issue 15 item 3: the errors Instagram documents, read as it says. */
static void documented_errors_ask_for_what_the_documentation_says(void) {
    CHECK(action_of("error_2207001") == SP_IG_TRY_AGAIN);
    CHECK(action_of("error_2207032") == SP_IG_TRY_AGAIN);
    CHECK(action_of("error_2207003") == SP_IG_TRY_AGAIN);
    CHECK(action_of("error_2207053") == SP_IG_NEW_CONTAINER);
    CHECK(action_of("error_2207051") == SP_IG_RESTRICTED); /* code 4, yet not a rate limit */
    CHECK(action_of("error_2207042") == SP_IG_LIMIT);
    CHECK(action_of("media_publish_not_ready") == SP_IG_UNREADY);
    CHECK(action_of("wrong_host_token") == SP_IG_CLASSIFY);
    sp_graph_resp r;
    parse_doc("wrong_host_token", &r);
    CHECK(sp_graph_classify(&r) == SP_GRAPH_AUTH);
    sp_graph_resp_free(&r);
}

static void the_publishing_limit_is_read(void) {
    sp_graph_resp r;
    long long usage = -1, total = -1, window = -1;
    parse_doc("content_publishing_limit", &r);
    CHECK(sp_instagram_read_quota(r.body, &usage, &total, &window));
    CHECK(usage == 2 && total == 50 && window == 86400);
    sp_graph_resp_free(&r);
    cJSON *o = cJSON_Parse("{\"data\":[{\"quota_usage\":50,\"config\":{\"quota_total\":50}}]}");
    CHECK(sp_instagram_read_quota(o, &usage, &total, &window) && usage == 50 && window == 86400);
    cJSON_Delete(o);
    const char *bad[] = {"{}", "{\"data\":[]}",
                         "{\"data\":[{\"quota_usage\":-1,\"config\":"
                         "{\"quota_total\":50}}]}",
                         "{\"data\":[{\"quota_usage\":\"2\",\"config\":{\"quota_total\":50}}]}",
                         "{\"data\":[{\"quota_usage\":1e300,\"config\":{\"quota_total\":50}}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = cJSON_Parse(bad[i]);
        CHECK(!sp_instagram_read_quota(o, &usage, &total, &window));
        cJSON_Delete(o);
    }
}

static void the_container_and_publish_answers_carry_their_ids(void) {
    const char *names[] = {"container_create", "media_publish", "permalink", "container_status"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        sp_graph_resp r;
        parse_doc(names[i], &r);
        CHECK(!r.failed && sp_graph_string(&r, "id") != NULL);
        sp_graph_resp_free(&r);
    }
}

static void a_broken_container_is_made_again(void) {
    CHECK(sp_instagram_phase_after(SP_IG_PUBLISHING, SP_IG_REMADE) == SP_IG_CONTAINER);
    CHECK(sp_instagram_phase_after(SP_IG_PROCESSING, SP_IG_REMADE) == SP_IG_CONTAINER);
    CHECK(sp_instagram_phase_after(SP_IG_PUBLISHED, SP_IG_REMADE) == SP_IG_PUBLISHED);
}

int main(void) {
    documented_errors_ask_for_what_the_documentation_says();
    the_publishing_limit_is_read();
    the_container_and_publish_answers_carry_their_ids();
    a_broken_container_is_made_again();
    a_reel_goes_container_processing_publishing_published();
    a_container_not_ready_after_all_goes_back_to_processing();
    a_container_found_published_is_recorded_not_published_again();
    nothing_skips_a_phase();
    a_published_reel_stays_published();
    names_are_what_the_checkpoint_and_retry_read();
    return check_done("test_instagram");
}
