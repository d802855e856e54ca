/*
 * The hot loop of Go 1.19 `src/compress/flate/deflate.go`: `deflate` (levels 2-9) with
 * `findMatch`, `matchLen` and `hash4`, compiled to WebAssembly by scripts/build-wasm.mjs (clang
 * --target=wasm32, no libc) and driven by ../deflate.ts, which keeps the rest of the compressor:
 * filling and sliding the window, rebasing the hash chains, writing blocks. The output is Go's
 * byte for byte; test/unit/goflate.test.ts checks it against digests made with the oracle.
 *
 * The arrays below are the module's whole memory. deflate.ts reads and writes them through
 * typed arrays (the pointers are exported); `st` carries the loop state across calls.
 *
 * Differences from Go that do not change the output: `matchLen` compares 8 bytes at a time and
 * finds the first differing byte with a count of trailing zeros (little-endian); `run` returns
 * at each block boundary instead of calling writeBlock, and deflate.ts calls it again.
 */
#include <stdint.h>

#define WINDOW_SIZE 32768
#define WINDOW_MASK (WINDOW_SIZE - 1)
#define HASH_BITS 17
#define HASH_SIZE (1 << HASH_BITS)
#define HASH_SHIFT (32 - HASH_BITS)
#define HASHMUL 0x1e35a7bdu
#define MAX_FLATE_BLOCK_TOKENS (1 << 14)
#define MIN_MATCH_LENGTH 4
#define MAX_MATCH_LENGTH 258
#define BASE_MATCH_LENGTH 3
#define BASE_MATCH_OFFSET 1
#define LENGTH_SHIFT 22
#define MATCH_TYPE (1u << 30)
#define SKIP_NEVER 0x7fffffff

static uint8_t win[2 * WINDOW_SIZE];
static int32_t hashHead[HASH_SIZE];
static int32_t hashPrev[WINDOW_SIZE];
static uint32_t tokens[MAX_FLATE_BLOCK_TOKENS + 1];
/* The block's symbol counts, kept as tokens are made (`indexTokens` without its pass over the
   tokens): literal/length symbols (END_BLOCK_MARKER not included) and distance codes. */
#define MAX_NUM_LIT 286
#define OFFSET_CODE_COUNT 30
#define LENGTH_CODES_START 257
static int32_t litFreq[MAX_NUM_LIT];
static int32_t offFreq[OFFSET_CODE_COUNT];
/* `lengthCodes` and `offsetCodes` of Go's token.go, filled by init(). */
static uint8_t lengthCodes[256];
static uint8_t offsetCodes[256];

enum { S_INDEX, S_LENGTH, S_OFFSET, S_CHAIN_HEAD, S_BYTE_AVAILABLE, S_NTOKENS, S_WINDOW_END, S_HASH_OFFSET,
       S_SYNC, S_GOOD, S_LAZY, S_NICE, S_CHAIN, S_FAST_SKIP_HASHING, S_BLOCK_END, S_COUNT };
static int32_t st[S_COUNT];

/* Element counts, so that deflateStep.ts can check its views against the arrays. */
int32_t window_len(void) { return sizeof win / sizeof win[0]; }
int32_t hash_head_len(void) { return sizeof hashHead / sizeof hashHead[0]; }
int32_t hash_prev_len(void) { return sizeof hashPrev / sizeof hashPrev[0]; }
int32_t tokens_len(void) { return sizeof tokens / sizeof tokens[0]; }
int32_t state_len(void) { return S_COUNT; }
int32_t lit_freq_len(void) { return MAX_NUM_LIT; }
int32_t off_freq_len(void) { return OFFSET_CODE_COUNT; }
int32_t *lit_freq_ptr(void) { return litFreq; }
int32_t *off_freq_ptr(void) { return offFreq; }

/* RFC 1951 §3.2.5: extra bits and base of each length code and distance code. */
static const uint8_t lengthExtraBits[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint8_t lengthBase[29] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 255};
static const uint8_t offsetExtraBits[16] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6};
static const uint8_t offsetBase[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x08, 0x0c, 0x10, 0x18, 0x20, 0x30, 0x40, 0x60, 0x80, 0xc0};

/* Fills the code tables; call once per instance, before run(). */
void init(void) {
    for (int code = 0; code < 28; code++) {
        for (int k = 0; k < (1 << lengthExtraBits[code]); k++) {
            lengthCodes[lengthBase[code] + k] = (uint8_t)code;
        }
    }
    lengthCodes[255] = 28;
    for (int code = 0; code < 16; code++) {
        for (int k = 0; k < (1 << offsetExtraBits[code]); k++) {
            offsetCodes[offsetBase[code] + k] = (uint8_t)code;
        }
    }
}

/* `offsetCode`: codes 16-29 cover 256-32767 in steps of 128 (>>7, +14 codes per doubling). */
static inline int offset_code(uint32_t off) {
    if (off < 256) {
        return offsetCodes[off];
    }
    if ((off >> 7) < 256) {
        return offsetCodes[off >> 7] + 14;
    }
    return offsetCodes[off >> 14] + 28;
}

static inline uint32_t literal(uint8_t b) {
    litFreq[b]++;
    return b;
}

static inline uint32_t match(int length, int offset) {
    uint32_t xlength = (uint32_t)(length - BASE_MATCH_LENGTH);
    uint32_t xoffset = (uint32_t)(offset - BASE_MATCH_OFFSET);
    litFreq[LENGTH_CODES_START + lengthCodes[xlength]]++;
    offFreq[offset_code(xoffset)]++;
    return MATCH_TYPE + (xlength << LENGTH_SHIFT) + xoffset;
}

uint8_t *window_ptr(void) { return win; }
int32_t *hash_head_ptr(void) { return hashHead; }
int32_t *hash_prev_ptr(void) { return hashPrev; }
uint32_t *tokens_ptr(void) { return tokens; }
int32_t *state_ptr(void) { return st; }

/* `hash4`: the top 17 bits of the big-endian 4 bytes at i times 0x1e35a7bd. */
static inline uint32_t hash4(int i) {
    uint32_t v = ((uint32_t)win[i] << 24) | ((uint32_t)win[i + 1] << 16) | ((uint32_t)win[i + 2] << 8) | win[i + 3];
    return (v * HASHMUL) >> HASH_SHIFT;
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}

/* `matchLen`: how many of the first `max` bytes at a and b are equal. */
static inline int match_len(int a, int b, int max) {
    int n = 0;
    while (n + 8 <= max) {
        uint64_t x = load64(win + a + n) ^ load64(win + b + n);
        if (x != 0) {
            return n + (__builtin_ctzll(x) >> 3);
        }
        n += 8;
    }
    while (n < max && win[a + n] == win[b + n]) {
        n++;
    }
    return n;
}

/* findMatch results. */
static int matchLength, matchOffset;

/*
 * `findMatch`: a match at `pos` longer than `prevLength`, looking at `chain` candidates at most.
 * Sets matchLength/matchOffset and returns whether one was found.
 */
static inline int find_match(int pos, int prevHead, int prevLength, int lookahead, int hashOffset) {
    int minMatchLook = lookahead < MAX_MATCH_LENGTH ? lookahead : MAX_MATCH_LENGTH;
    int nice = st[S_NICE] < minMatchLook ? st[S_NICE] : minMatchLook;
    int tries = st[S_CHAIN];
    int length = prevLength;
    if (length >= st[S_GOOD]) {
        tries >>= 2;
    }
    int offset = 0;
    int ok = 0;
    uint8_t wEnd = win[pos + length];
    int minIndex = pos - WINDOW_SIZE;
    for (int i = prevHead; tries > 0; tries--) {
        if (wEnd == win[i + length]) {
            int n = match_len(i, pos, minMatchLook);
            if (n > length && (n > MIN_MATCH_LENGTH || pos - i <= 4096)) {
                length = n;
                offset = pos - i;
                ok = 1;
                if (n >= nice) {
                    break;
                }
                wEnd = win[pos + n];
            }
        }
        if (i == minIndex) {
            /* hashPrev[i & WINDOW_MASK] has been overwritten already. */
            break;
        }
        i = hashPrev[i & WINDOW_MASK] - hashOffset;
        if (i < minIndex || i < 0) {
            break;
        }
    }
    matchLength = length;
    matchOffset = offset;
    return ok;
}

/*
 * Runs Go's deflate loop until it stops (returns 0) or has a block to write ending at
 * st[S_BLOCK_END]: 1 = write it, clear the tokens and call again; 2 = write it and stop.
 */
int run(void) {
    const int windowEnd = st[S_WINDOW_END];
    const int sync = st[S_SYNC];
    if (windowEnd - st[S_INDEX] < MIN_MATCH_LENGTH + MAX_MATCH_LENGTH && !sync) {
        return 0;
    }
    const int maxInsertIndex = windowEnd - (MIN_MATCH_LENGTH - 1);
    const int hashOffset = st[S_HASH_OFFSET];
    const int fastSkipHashing = st[S_FAST_SKIP_HASHING];
    const int lazyMode = fastSkipHashing == SKIP_NEVER;
    const int lazy = st[S_LAZY];
    int index = st[S_INDEX];
    int length = st[S_LENGTH];
    int offset = st[S_OFFSET];
    int chainHead = st[S_CHAIN_HEAD];
    int byteAvailable = st[S_BYTE_AVAILABLE];
    int ntokens = st[S_NTOKENS];
    int ret = 0;
    for (;;) {
        const int lookahead = windowEnd - index;
        if (lookahead < MIN_MATCH_LENGTH + MAX_MATCH_LENGTH) {
            if (!sync) {
                break;
            }
            if (lookahead == 0) {
                if (byteAvailable) {
                    tokens[ntokens++] = literal(win[index - 1]);
                    byteAvailable = 0;
                }
                /* Flush the pending literal and the current block. */
                if (ntokens > 0) {
                    st[S_BLOCK_END] = index;
                    ret = 2;
                }
                break;
            }
        }
        if (index < maxInsertIndex) {
            uint32_t h = hash4(index);
            chainHead = hashHead[h];
            hashPrev[index & WINDOW_MASK] = chainHead;
            hashHead[h] = index + hashOffset;
        }
        const int prevLength = length;
        const int prevOffset = offset;
        length = MIN_MATCH_LENGTH - 1;
        offset = 0;
        const int minIndex = index - WINDOW_SIZE > 0 ? index - WINDOW_SIZE : 0;
        if (chainHead - hashOffset >= minIndex &&
            (lazyMode ? lookahead > prevLength && prevLength < lazy : lookahead > MIN_MATCH_LENGTH - 1)) {
            if (find_match(index, chainHead - hashOffset, MIN_MATCH_LENGTH - 1, lookahead, hashOffset)) {
                length = matchLength;
                offset = matchOffset;
            }
        }
        if (lazyMode ? prevLength >= MIN_MATCH_LENGTH && length <= prevLength : length >= MIN_MATCH_LENGTH) {
            tokens[ntokens++] = lazyMode ? match(prevLength, prevOffset) : match(length, offset);
            /* Emitted the previous match (lazy) or this one (levels 2-3). Hash every position up
               to the end of the match (index and index-1 are in already); without enough
               lookahead the last two are left out. Long matches at levels 2-3 are not hashed. */
            if (length <= fastSkipHashing) {
                const int newIndex = lazyMode ? index + prevLength - 1 : index + length;
                int i = index + 1;
                for (; i < newIndex; i++) {
                    if (i < maxInsertIndex) {
                        uint32_t h = hash4(i);
                        hashPrev[i & WINDOW_MASK] = hashHead[h];
                        hashHead[h] = i + hashOffset;
                    }
                }
                index = i;
                if (lazyMode) {
                    byteAvailable = 0;
                    length = MIN_MATCH_LENGTH - 1;
                }
            } else {
                index += length;
            }
            if (ntokens == MAX_FLATE_BLOCK_TOKENS) {
                /* The block includes the current character. */
                st[S_BLOCK_END] = index;
                ret = 1;
                break;
            }
        } else {
            if (!lazyMode || byteAvailable) {
                const int i = lazyMode ? index - 1 : index;
                tokens[ntokens++] = literal(win[i]);
                if (ntokens == MAX_FLATE_BLOCK_TOKENS) {
                    st[S_BLOCK_END] = i + 1;
                    ret = 1;
                }
            }
            index++;
            if (lazyMode) {
                byteAvailable = 1;
            }
            if (ret) {
                break;
            }
        }
    }
    st[S_INDEX] = index;
    st[S_LENGTH] = length;
    st[S_OFFSET] = offset;
    st[S_CHAIN_HEAD] = chainHead;
    st[S_BYTE_AVAILABLE] = byteAvailable;
    st[S_NTOKENS] = ntokens;
    return ret;
}
