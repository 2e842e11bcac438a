/* fuzz_mp4: the MP4 header reader that decides Reels, Shorts and TikTok's
 * duration limit from a downloaded video, at every length the download may
 * have reached. */
#include "core/mp4.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sp_mp4_info info;
    long long need = 0;
    int rc = sp_mp4_probe_buffer(data, size, &info, &need);
    if (rc == 0 && need <= (long long)size) __builtin_trap(); /* must ask for more */
    if (rc == 1 && info.has_video && (info.width <= 0 || info.height <= 0)) __builtin_trap();
    if (size > 8) sp_mp4_probe_buffer(data, size / 2, &info, &need);
    return 0;
}
